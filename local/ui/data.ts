/**
 * Every read the UI makes of Cassandra or Keyspaces, and its writes of its own `ui_metrics` table, in one
 * place. Each query restricts a full partition key and is bounded (a LIMIT, or the full primary key), so no
 * refresh of any page scans a table: `test/local/ui/data.test.ts` checks every statement this module sends.
 *
 * The ledger is read with `SELECT *` and parsed leniently: columns a deployment does not have yet (phase
 * timings, per-partition outcomes, mode) come back as null and the pages show "—".
 */
import type { Client, types } from 'cassandra-driver';
import {
  BATCH_LEDGER,
  DEAD_LETTERS,
  OFFSET_CHECKPOINTS,
  SKIPPED_RANGES,
  UI_METRICS,
  qualified,
} from '../../schema';
import { recordTimestampsFrom } from '../../lambda/runtime/queries';
import type { RecordTimestamps } from '../../lambda/runtime/store';

export interface OffsetRangeView {
  readonly topic: string;
  readonly partition: number;
  readonly fromOffset: number;
  readonly untilOffset: number;
}

/** One Kafka partition of a batch, as the ledger's `partitions` column has it. */
export interface PartitionOutcomeView {
  readonly topic: string;
  readonly partition: number;
  readonly fromOffset: number | null;
  readonly untilOffset: number | null;
  readonly nextBefore: number | null;
  readonly nextAfter: number | null;
  readonly claimId: string | null;
  readonly claimTime: string | null;
  /** The open claim of another attempt the batch applied offsets under (null: none, or an older ledger row). */
  readonly resumedClaim: { readonly id: string; readonly time: string; readonly until: number | null } | null;
  readonly applied: number | null;
  readonly written: number | null;
  readonly duplicates: number | null;
  readonly deadLettered: number | null;
  readonly late: number | null;
  readonly skipped: number | null;
  readonly filtered: number | null;
  readonly deferred: number | null;
  readonly lost: number | null;
  readonly watermarkMs: number | null;
}

export interface Phases {
  readonly readClaimMs: number;
  readonly transformMs: number;
  readonly effectsMs: number;
  readonly commitMs: number;
}

export interface BatchRow {
  readonly job: string;
  readonly batchId: string;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly recordsIn: number;
  readonly written: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  readonly late: number;
  readonly offsetRanges: readonly OffsetRangeView[];
  readonly watermarkMs: number | null;
  /** null on ledger rows written before the phase timings existed. */
  readonly phases: Phases | null;
  readonly skipped: number | null;
  readonly filtered: number | null;
  readonly deferred: number | null;
  readonly lost: number | null;
  readonly mode: string | null;
  readonly partitions: readonly PartitionOutcomeView[] | null;
  /** null on ledger rows written before the record timestamps were kept, and for a batch without any. */
  readonly recordTimestamps: RecordTimestamps | null;
}

export interface CheckpointView {
  readonly topic: string;
  readonly partition: number;
  readonly nextOffset: number | null;
  readonly watermarkMs: number | null;
  readonly claimId: string | null;
  readonly claimUntil: number | null;
  readonly claimTime: Date | null;
  readonly updatedAt: Date | null;
}

export interface DeadLetterView {
  readonly job: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;
  readonly detail: string;
  readonly keyBase64: string | null;
  readonly valueBase64: string | null;
  readonly recordTimestamp: Date | null;
}

export interface SkippedRangeView {
  readonly topic: string;
  readonly partition: number;
  readonly fromOffset: number;
  readonly untilOffset: number;
  readonly reason: string | null;
  readonly status: string | null;
  readonly detectedAt: Date | null;
  readonly detectedBy: string | null;
  readonly redrivenAt: Date | null;
  /** The redrive's cursor: offsets below it are done. */
  readonly nextOffset: number | null;
  readonly redriven: number | null;
  readonly lost: number | null;
}

export interface LagPartition {
  readonly topic: string;
  readonly partition: number;
  readonly endOffset: number;
  /** The group's committed offset; null when the group has committed nothing on this partition. */
  readonly committed: number | null;
  readonly records: number;
  /** Estimated time behind; null when it cannot be estimated yet. */
  readonly seconds: number | null;
  /**
   * `seconds` is a lower bound: the record waited longer than the UI has watched the partition (its history of
   * end offsets starts after the record arrived). Absent when the estimate is not one.
   */
  readonly secondsAtLeast?: boolean;
}

export type Resolution = '5s' | '1m';

export interface MetricsRow {
  readonly at: Date;
  readonly lag: readonly LagPartition[] | null;
  readonly lagRecords: number | null;
  readonly lagSeconds: number | null;
  readonly groupMembers: number | null;
  readonly groupState: string | null;
  readonly rollup: Rollup | null;
}

export interface Rollup {
  readonly batches: number;
  readonly recordsIn: number;
  readonly written: number;
  readonly deadLettered: number;
  readonly late: number;
  readonly durationMsSum: number;
  /**
   * `durationMsSum` without a replay's or a redrive's batches: the time in which the live stream's `recordsIn`
   * were processed. null in a rollup written before it was kept.
   */
  readonly liveDurationMsSum: number | null;
  readonly durationMsMax: number;
  readonly phasedBatches: number;
  readonly phaseSums: Phases;
  readonly watermarkMs: number | null;
  readonly watermarkGapMs: number | null;
  /** null when the reasons were not counted (see `Sampler`). */
  readonly deadLetterReasons: Readonly<Record<string, number>> | null;
  /** The longest record latencies of the minute's live batches (`recordLatencies`); null without any. */
  readonly latencyMaxMs: { readonly oldestMs: number; readonly newestMs: number } | null;
}

/** Where a page of the batch table ends: the ledger day and the driver's page state within it. */
export interface BatchCursor {
  readonly day: string;
  readonly pageState: string | null;
}

const DAY_MS = 86_400_000;
/** The ledger keeps 30 days by default: a page never looks further back than this. */
const MAX_LEDGER_DAYS = 31;

export const utcDay = (t: Date | number): string => new Date(t).toISOString().slice(0, 10);
export const utcHour = (t: Date | number): string => new Date(t).toISOString().slice(0, 13);

/** The UTC days from `to` back to `from`, newest first: the ledger partitions a time range touches. */
export function daysBetween(from: Date, to: Date): string[] {
  const out: string[] = [];
  for (let t = Date.parse(utcDay(to)); t >= Date.parse(utcDay(from)); t -= DAY_MS) out.push(utcDay(t));
  return out;
}

/** The UTC hours from `from` to `to`, oldest first. */
export function hoursBetween(from: Date, to: Date): string[] {
  const out: string[] = [];
  const start = Math.floor(from.getTime() / 3_600_000) * 3_600_000;
  for (let t = start; t <= to.getTime(); t += 3_600_000) out.push(utcHour(t));
  return out;
}

function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return null;
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const date = (value: unknown): Date | null => (value instanceof Date ? value : null);

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string' || text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function resumedClaimOf(value: unknown): PartitionOutcomeView['resumedClaim'] {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const id = str(v.id);
  const time = str(v.time);
  return id && time ? { id, time, until: num(v.until) } : null;
}

function parsePartitions(text: unknown): PartitionOutcomeView[] | null {
  const parsed = parseJson(text);
  if (!Array.isArray(parsed)) return null;
  return parsed
    .filter((p): p is Record<string, unknown> => typeof p === 'object' && p !== null)
    .map((p) => ({
      topic: String(p.topic),
      partition: num(p.partition) ?? -1,
      fromOffset: num(p.fromOffset),
      untilOffset: num(p.untilOffset),
      nextBefore: num(p.nextBefore),
      nextAfter: num(p.nextAfter),
      claimId: str(p.claimId),
      claimTime: str(p.claimTime),
      resumedClaim: resumedClaimOf(p.resumedClaim),
      applied: num(p.applied),
      written: num(p.written),
      duplicates: num(p.duplicates),
      deadLettered: num(p.deadLettered),
      late: num(p.late),
      skipped: num(p.skipped),
      filtered: num(p.filtered),
      deferred: num(p.deferred),
      lost: num(p.lost),
      watermarkMs: num(p.watermarkMs),
    }));
}

/** A ledger row, whatever columns this deployment's ledger has. */
export function parseBatchRow(job: string, r: types.Row): BatchRow {
  const get = (name: string): unknown => (r as unknown as Record<string, unknown>)[name];
  const phaseValues = [
    num(get('phase_read_claim_ms')),
    num(get('phase_transform_ms')),
    num(get('phase_effects_ms')),
    num(get('phase_commit_ms')),
  ];
  const ranges = parseJson(get('offset_ranges'));
  return {
    job,
    batchId: String(get('batch_id')),
    startedAt: get('started_at') as Date,
    durationMs: num(get('duration_ms')) ?? 0,
    recordsIn: num(get('records_in')) ?? 0,
    written: num(get('written')) ?? 0,
    duplicates: num(get('duplicates')) ?? 0,
    deadLettered: num(get('dead_lettered')) ?? 0,
    late: num(get('late')) ?? 0,
    offsetRanges: Array.isArray(ranges)
      ? (ranges as Array<Record<string, unknown>>).map((o) => ({
          topic: String(o.topic),
          partition: num(o.partition) ?? -1,
          fromOffset: num(o.fromOffset) ?? 0,
          untilOffset: num(o.untilOffset) ?? 0,
        }))
      : [],
    watermarkMs: num(get('watermark_ms')),
    phases: phaseValues.every((v) => v !== null)
      ? {
          readClaimMs: phaseValues[0]!,
          transformMs: phaseValues[1]!,
          effectsMs: phaseValues[2]!,
          commitMs: phaseValues[3]!,
        }
      : null,
    skipped: num(get('skipped')),
    filtered: num(get('filtered')),
    deferred: num(get('deferred')),
    lost: num(get('lost')),
    mode: str(get('mode')),
    partitions: parsePartitions(get('partitions')),
    recordTimestamps: recordTimestampsFrom(get('oldest_record_at'), get('newest_record_at')),
  };
}

/**
 * A batch of the live stream, not of a `replay` or a `redrive` (rows written before the ledger kept the mode
 * are live: nothing else wrote the ledger then). Rates, the last batch and the job's state count only these.
 */
export function isLiveBatch(b: Pick<BatchRow, 'mode'>): boolean {
  return b.mode === null || b.mode === 'live';
}

/** Cassandra's answer when a table does not exist (yet) in the keyspace. */
function isMissingTable(error: unknown): boolean {
  return /unconfigured table|does not exist|not found/i.test(String((error as Error)?.message ?? error));
}

export class UiData {
  private readonly ledger: string;
  private readonly deadLetters: string;
  private readonly checkpoints: string;
  private readonly metrics: string;
  private readonly skipped: string;

  constructor(
    readonly client: Pick<Client, 'execute'>,
    readonly keyspace: string,
  ) {
    this.ledger = qualified(keyspace, BATCH_LEDGER);
    this.deadLetters = qualified(keyspace, DEAD_LETTERS);
    this.checkpoints = qualified(keyspace, OFFSET_CHECKPOINTS);
    this.metrics = qualified(keyspace, UI_METRICS);
    this.skipped = qualified(keyspace, SKIPPED_RANGES);
  }

  /**
   * Batches that started in [from, to), newest first, at most `limit`: one bounded slice of each ledger day
   * the range touches. `truncated` says the limit cut the range.
   */
  async batchesBetween(
    job: string,
    from: Date,
    to: Date,
    limit: number,
  ): Promise<{ rows: BatchRow[]; truncated: boolean }> {
    const rows: BatchRow[] = [];
    for (const day of daysBetween(from, to)) {
      const want = limit - rows.length;
      if (want <= 0) return { rows, truncated: true };
      const rs = await this.client.execute(
        `SELECT * FROM ${this.ledger} WHERE job = ? AND day = ? AND started_at >= ? AND started_at < ? LIMIT ?`,
        [job, day, from, to, want + 1],
        { prepare: true, fetchSize: Math.min(want + 1, 5000) },
      );
      for (const r of rs.rows) {
        if (rows.length === limit) return { rows, truncated: true };
        rows.push(parseBatchRow(job, r));
      }
    }
    return { rows, truncated: false };
  }

  /**
   * One page of the batch table, newest first. The cursor holds the ledger day and the driver's page state,
   * so the next page continues exactly where this one stopped, across days, without an offset scan.
   */
  async batchPage(
    job: string,
    pageSize: number,
    cursor: BatchCursor | null,
    now = new Date(),
  ): Promise<{ rows: BatchRow[]; next: BatchCursor | null }> {
    let day = cursor?.day ?? utcDay(now);
    let pageState = cursor?.pageState ?? undefined;
    const oldest = now.getTime() - MAX_LEDGER_DAYS * DAY_MS;
    const rows: BatchRow[] = [];
    // A full page's cursor is offered only when a batch lies past it: Cassandra hands out a page state when a
    // page fills, whether or not a row follows, and an older day may be empty, so "Older" led to an empty page.
    const page = async (next: BatchCursor) => {
      const probe = await this.ledgerPage(job, next, 1, oldest);
      // No row but a page state: rows expired under tombstones may hide older ones, so the cursor stays.
      return { rows, next: probe.rows.length || probe.pageState ? next : null };
    };
    while (Date.parse(day) >= oldest - DAY_MS) {
      const rs = await this.ledgerPage(
        job,
        { day, pageState: pageState ?? null },
        pageSize - rows.length,
        oldest,
      );
      for (const r of rs.rows) rows.push(parseBatchRow(job, r));
      if (rs.pageState) {
        if (rows.length >= pageSize) return page({ day: rs.day, pageState: rs.pageState });
        pageState = rs.pageState;
        day = rs.day;
        continue;
      }
      day = utcDay(Date.parse(rs.day) - DAY_MS);
      pageState = undefined;
      if (rows.length >= pageSize) return page({ day, pageState: null });
    }
    return { rows, next: null };
  }

  /**
   * Up to `fetchSize` ledger rows from `from` on, newest first: from its day, and from the older days down to
   * `oldest` while a day has none. `day` is the day the rows came from.
   */
  private async ledgerPage(
    job: string,
    from: BatchCursor,
    fetchSize: number,
    oldest: number,
  ): Promise<{ rows: types.Row[]; pageState: string | undefined; day: string }> {
    let day = from.day;
    let pageState = from.pageState ?? undefined;
    for (;;) {
      const rs = await this.client.execute(
        `SELECT * FROM ${this.ledger} WHERE job = ? AND day = ? LIMIT ?`,
        [job, day, 100_000],
        { prepare: true, fetchSize, pageState },
      );
      const older = utcDay(Date.parse(day) - DAY_MS);
      if (rs.rows.length || rs.pageState || Date.parse(older) < oldest - DAY_MS)
        return { rows: rs.rows, pageState: rs.pageState ?? undefined, day };
      day = older;
      pageState = undefined;
    }
  }

  /** The newest batch of the job, from today's or yesterday's ledger. */
  /**
   * The newest batch of today or yesterday (UTC) that `accept` takes, among the newest `scan` of each day:
   * a replay's or a redrive's batches are in the same ledger as the live ones.
   */
  async latestBatch(
    job: string,
    now = new Date(),
    accept: (b: BatchRow) => boolean = () => true,
    scan = 100,
  ): Promise<BatchRow | null> {
    for (const day of [utcDay(now), utcDay(now.getTime() - DAY_MS)]) {
      // The newest row first: it is nearly always the one, so the page polled every few seconds reads one row,
      // and reads up to `scan` only after a replay or a redrive.
      for (const limit of [1, scan]) {
        const rs = await this.client.execute(
          `SELECT * FROM ${this.ledger} WHERE job = ? AND day = ? LIMIT ?`,
          [job, day, limit],
          { prepare: true },
        );
        for (const r of rs.rows) {
          const b = parseBatchRow(job, r);
          if (accept(b)) return b;
        }
        if (rs.rows.length < limit) break;
      }
    }
    return null;
  }

  /** One batch, by its full primary key. */
  async batch(job: string, startedAt: Date, batchId: string): Promise<BatchRow | null> {
    const rs = await this.client.execute(
      `SELECT * FROM ${this.ledger} WHERE job = ? AND day = ? AND started_at = ? AND batch_id = ?`,
      [job, utcDay(startedAt), startedAt, batchId],
      { prepare: true },
    );
    const r = rs.first();
    return r ? parseBatchRow(job, r) : null;
  }

  async checkpoint(job: string, topic: string, partition: number): Promise<CheckpointView | null> {
    const rs = await this.client.execute(
      `SELECT next_offset, watermark_ms, claim_id, claim_until, claim_time, updated_at FROM ${this.checkpoints} ` +
        'WHERE job = ? AND topic = ? AND kafka_partition = ?',
      [job, topic, partition],
      { prepare: true },
    );
    const r = rs.first();
    if (!r) return null;
    return {
      topic,
      partition,
      nextOffset: num(r.get('next_offset')),
      watermarkMs: num(r.get('watermark_ms')),
      claimId: str(r.get('claim_id')),
      claimUntil: num(r.get('claim_until')),
      claimTime: date(r.get('claim_time')),
      updatedAt: date(r.get('updated_at')),
    };
  }

  private deadLetterRow(job: string, topic: string, partition: number, r: types.Row): DeadLetterView {
    return {
      job,
      topic,
      partition,
      offset: num(r.get('kafka_offset')) ?? -1,
      reason: String(r.get('reason')),
      detail: str(r.get('detail')) ?? '',
      keyBase64: str(r.get('key_b64')),
      valueBase64: str(r.get('value_b64')),
      recordTimestamp: date(r.get('record_timestamp')),
    };
  }

  /** Dead letters of one partition with offsets in [from, until), oldest first, at most `limit`. */
  async deadLettersInRange(
    job: string,
    topic: string,
    partition: number,
    from: number,
    until: number,
    limit: number,
  ): Promise<DeadLetterView[]> {
    if (until <= from) return [];
    const rs = await this.client.execute(
      `SELECT kafka_offset, reason, detail, key_b64, value_b64, record_timestamp FROM ${this.deadLetters} ` +
        'WHERE job = ? AND topic = ? AND kafka_partition = ? AND kafka_offset >= ? AND kafka_offset < ? LIMIT ?',
      [job, topic, partition, BigInt(from), BigInt(until), limit],
      { prepare: true, fetchSize: Math.min(limit, 5000) },
    );
    return rs.rows.map((r) => this.deadLetterRow(job, topic, partition, r));
  }

  /** The newest dead letters of one partition below `beforeOffset` (all when null), newest first. */
  async deadLettersBefore(
    job: string,
    topic: string,
    partition: number,
    beforeOffset: number | null,
    limit: number,
  ): Promise<DeadLetterView[]> {
    const rs = await this.client.execute(
      `SELECT kafka_offset, reason, detail, key_b64, value_b64, record_timestamp FROM ${this.deadLetters} ` +
        'WHERE job = ? AND topic = ? AND kafka_partition = ? AND kafka_offset < ? ORDER BY kafka_offset DESC LIMIT ?',
      [job, topic, partition, BigInt(beforeOffset ?? Number.MAX_SAFE_INTEGER), limit],
      { prepare: true, fetchSize: Math.min(limit, 5000) },
    );
    return rs.rows.map((r) => this.deadLetterRow(job, topic, partition, r));
  }

  /** The skipped ranges of one partition; null when the keyspace predates the `skipped_ranges` table. */
  async skippedRanges(
    job: string,
    topic: string,
    partition: number,
    limit = 1000,
  ): Promise<SkippedRangeView[] | null> {
    try {
      const rs = await this.client.execute(
        `SELECT * FROM ${this.skipped} WHERE job = ? AND topic = ? AND kafka_partition = ? LIMIT ?`,
        [job, topic, partition, limit],
        { prepare: true, fetchSize: limit },
      );
      return rs.rows.map((r) => {
        const get = (name: string): unknown => (r as unknown as Record<string, unknown>)[name];
        return {
          topic,
          partition,
          fromOffset: num(get('from_offset')) ?? -1,
          untilOffset: num(get('until_offset')) ?? -1,
          reason: str(get('reason')),
          status: str(get('status')),
          detectedAt: date(get('detected_at')),
          detectedBy: str(get('detected_by')),
          redrivenAt: date(get('redriven_at')),
          nextOffset: num(get('next_offset')),
          redriven: num(get('redriven')),
          lost: num(get('lost')),
        };
      });
    } catch (error) {
      if (isMissingTable(error)) return null;
      throw error;
    }
  }

  /** The UI's own samples and rollups in [from, to), oldest first, at most `limit` rows. */
  async metricsBetween(
    job: string,
    resolution: Resolution,
    from: Date,
    to: Date,
    limit: number,
  ): Promise<MetricsRow[]> {
    const buckets = resolution === '5s' ? hoursBetween(from, to) : daysBetween(from, to).reverse();
    const out: MetricsRow[] = [];
    for (const bucket of buckets) {
      const want = limit - out.length;
      if (want <= 0) break;
      const rs = await this.client.execute(
        `SELECT * FROM ${this.metrics} WHERE job = ? AND resolution = ? AND bucket = ? AND at >= ? AND at < ? LIMIT ?`,
        [job, resolution, bucket, from, to, want],
        { prepare: true, fetchSize: Math.min(want, 5000) },
      );
      for (const r of rs.rows) out.push(parseMetricsRow(r));
    }
    return out;
  }

  async writeLagSample(
    job: string,
    resolution: Resolution,
    at: Date,
    sample: {
      lag: readonly LagPartition[];
      lagRecords: number;
      lagSeconds: number | null;
      groupMembers: number;
      groupState: string;
    },
  ): Promise<void> {
    await this.client.execute(
      `INSERT INTO ${this.metrics} (job, resolution, bucket, at, lag, lag_records, lag_seconds, group_members, group_state) ` +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        job,
        resolution,
        resolution === '5s' ? utcHour(at) : utcDay(at),
        at,
        JSON.stringify(sample.lag),
        BigInt(sample.lagRecords),
        sample.lagSeconds,
        sample.groupMembers,
        sample.groupState,
      ],
      { prepare: true },
    );
  }

  async writeRollup(job: string, minute: Date, r: Rollup): Promise<void> {
    await this.client.execute(
      `INSERT INTO ${this.metrics} (job, resolution, bucket, at, batches, records_in, written, dead_lettered, late, ` +
        'duration_ms_sum, duration_ms_max, phased_batches, phase_read_claim_ms_sum, phase_transform_ms_sum, ' +
        'phase_effects_ms_sum, phase_commit_ms_sum, watermark_ms, watermark_gap_ms, dead_letter_reasons, ' +
        'latency_oldest_ms_max, latency_newest_ms_max, live_duration_ms_sum) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        job,
        '1m',
        utcDay(minute),
        minute,
        r.batches,
        BigInt(r.recordsIn),
        BigInt(r.written),
        BigInt(r.deadLettered),
        BigInt(r.late),
        BigInt(r.durationMsSum),
        r.durationMsMax,
        r.phasedBatches,
        BigInt(r.phaseSums.readClaimMs),
        BigInt(r.phaseSums.transformMs),
        BigInt(r.phaseSums.effectsMs),
        BigInt(r.phaseSums.commitMs),
        r.watermarkMs === null ? null : BigInt(r.watermarkMs),
        r.watermarkGapMs === null ? null : BigInt(r.watermarkGapMs),
        r.deadLetterReasons === null ? null : JSON.stringify(r.deadLetterReasons),
        r.latencyMaxMs === null ? null : BigInt(r.latencyMaxMs.oldestMs),
        r.latencyMaxMs === null ? null : BigInt(r.latencyMaxMs.newestMs),
        r.liveDurationMsSum === null ? null : BigInt(r.liveDurationMsSum),
      ],
      { prepare: true },
    );
  }
}

function parseMetricsRow(r: types.Row): MetricsRow {
  const get = (name: string): unknown => (r as unknown as Record<string, unknown>)[name];
  const lag = parseJson(get('lag'));
  const batches = num(get('batches'));
  const reasons = parseJson(get('dead_letter_reasons'));
  return {
    at: get('at') as Date,
    lag: Array.isArray(lag) ? (lag as LagPartition[]) : null,
    lagRecords: num(get('lag_records')),
    lagSeconds: num(get('lag_seconds')),
    groupMembers: num(get('group_members')),
    groupState: str(get('group_state')),
    rollup:
      batches === null
        ? null
        : {
            batches,
            recordsIn: num(get('records_in')) ?? 0,
            written: num(get('written')) ?? 0,
            deadLettered: num(get('dead_lettered')) ?? 0,
            late: num(get('late')) ?? 0,
            durationMsSum: num(get('duration_ms_sum')) ?? 0,
            liveDurationMsSum: num(get('live_duration_ms_sum')),
            durationMsMax: num(get('duration_ms_max')) ?? 0,
            phasedBatches: num(get('phased_batches')) ?? 0,
            phaseSums: {
              readClaimMs: num(get('phase_read_claim_ms_sum')) ?? 0,
              transformMs: num(get('phase_transform_ms_sum')) ?? 0,
              effectsMs: num(get('phase_effects_ms_sum')) ?? 0,
              commitMs: num(get('phase_commit_ms_sum')) ?? 0,
            },
            watermarkMs: num(get('watermark_ms')),
            watermarkGapMs: num(get('watermark_gap_ms')),
            deadLetterReasons:
              reasons && typeof reasons === 'object' && !Array.isArray(reasons)
                ? (reasons as Record<string, number>)
                : null,
            latencyMaxMs: latencyMaxOf(num(get('latency_oldest_ms_max')), num(get('latency_newest_ms_max'))),
          },
  };
}

function latencyMaxOf(oldestMs: number | null, newestMs: number | null): Rollup['latencyMaxMs'] {
  return oldestMs === null || newestMs === null ? null : { oldestMs, newestMs };
}

/** The longest oldest-record and newest-record latency of several (each of its own item); null for none. */
export function longestLatencies(
  items: ReadonlyArray<{ readonly oldestMs: number; readonly newestMs: number } | null>,
): Rollup['latencyMaxMs'] {
  let oldestMs = -Infinity;
  let newestMs = -Infinity;
  let any = false;
  for (const l of items) {
    if (!l) continue;
    any = true;
    oldestMs = Math.max(oldestMs, l.oldestMs);
    newestMs = Math.max(newestMs, l.newestMs);
  }
  return any ? { oldestMs, newestMs } : null;
}
