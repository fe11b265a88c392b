/**
 * The JSON behind each page of the UI: `/api/...` serves exactly these objects, and the pages render them.
 * Pure shaping over `UiData` (the reads) and the `Sampler` (the live lag), so every view is bounded by the
 * queries those make.
 */
import {
  isLiveBatch,
  longestLatencies,
  type BatchCursor,
  type BatchRow,
  type CheckpointView,
  type DeadLetterView,
  type MetricsRow,
  type UiData,
} from './data';
import type { UiJob } from './jobs';
import type { LagReading, Sampler } from './sampler';
import { recordLatencies } from '../../lambda/runtime/batch';
import { DEAD_LETTER_REASONS } from '../../lambda/runtime/errors';
import { ISO_TIME_EXAMPLE, isCalendarDay, isoTimeMs } from '../../lambda/runtime/iso-time';
import { integerParam } from '../../lambda/runtime/queries';

export type JobState = 'running' | 'stopped' | 'failing' | 'lagging' | 'unknown';

export const RANGES = { '5m': 5 * 60_000, '1h': 3_600_000, '24h': 86_400_000 } as const;
export type RangeName = keyof typeof RANGES;

/** A bad query parameter: the server answers 400 with this message. */
export class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

/** A job, batch or page that does not exist: the server answers 404. */
export class NotFound extends Error {
  override readonly name = 'NotFound';
}

/**
 * The job's state from what Kafka and the ledger say:
 * - `stopped`: the consumer group has no member (nothing polls the topics);
 * - `failing`: records wait, yet no batch finished for 6 batching windows (at least a minute), or, with no
 *   batch in the ledger yet, the oldest has waited that long: batches fail and are retried;
 * - `lagging`: batches finish, but the oldest waiting record is older than 3 batching windows (at least 30 s);
 * - `running`: otherwise. Without a lag reading the ledger alone decides between running and stopped.
 */
export function classifyState(args: {
  now: number;
  job: Pick<UiJob, 'batchingWindowSeconds'>;
  lastBatchEnd: number | null;
  lag: LagReading | undefined;
}): { state: JobState; reason: string } {
  const windowMs = args.job.batchingWindowSeconds * 1000;
  const stallMs = Math.max(60_000, 6 * windowMs);
  const lagLimitS = Math.max(30, (3 * windowMs) / 1000);
  const sinceBatch = args.lastBatchEnd === null ? null : args.now - args.lastBatchEnd;
  const lag = args.lag?.lag;
  if (!lag) {
    const fresh = sinceBatch !== null && sinceBatch < stallMs;
    return {
      state: fresh ? 'running' : 'unknown',
      reason: `${args.lag?.error ?? 'no lag reading yet'}; ${fresh ? 'a batch finished recently' : 'no recent batch'}`,
    };
  }
  if (lag.members === 0)
    return { state: 'stopped', reason: `consumer group is ${lag.state}, with no member` };
  const waiting = lag.records === 1 ? '1 record waits' : `${lag.records} records wait`;
  if (lag.records > 0 && sinceBatch === null) {
    // No batch in the ledger's look-back (a new job, or one idle for days): how long the records have waited
    // decides, not a time since a batch there never was. An age not known yet becomes one as the UI watches.
    if (lag.seconds !== null && lag.seconds * 1000 > stallMs)
      return {
        state: 'failing',
        reason: `${waiting}, the oldest ${lag.secondsAtLeast ? 'at least ' : ''}${Math.round(lag.seconds)} s, and no batch has finished yet`,
      };
    return { state: 'running', reason: `${lag.members} consumer(s), ${waiting} for the first batch` };
  }
  if (lag.records > 0 && sinceBatch !== null && sinceBatch > stallMs)
    return {
      state: 'failing',
      reason: `${waiting} and no batch finished for ${Math.round(sinceBatch / 1000)} s`,
    };
  if (lag.seconds !== null && lag.seconds > lagLimitS)
    return {
      state: 'lagging',
      reason: `the oldest waiting record is ${lag.secondsAtLeast ? 'at least ' : ''}${Math.round(lag.seconds)} s old`,
    };
  return { state: 'running', reason: `${lag.members} consumer(s), ${lag.records} records behind` };
}

/** A payload as the pages show it: text when it is valid UTF-8 without control characters, hex otherwise. */
export function payloadView(
  base64: string | null,
  max = 4096,
): { encoding: 'text' | 'hex' | 'null'; text: string; bytes: number; truncated: boolean } {
  if (base64 === null) return { encoding: 'null', text: '', bytes: 0, truncated: false };
  const bytes = Buffer.from(base64, 'base64');
  let text: string | null = null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = null;
  }
  // eslint-disable-next-line no-control-regex
  if (text !== null && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) {
    return { encoding: 'text', text: text.slice(0, max), bytes: bytes.length, truncated: text.length > max };
  }
  const shown = bytes.subarray(0, Math.floor(max / 3));
  return {
    encoding: 'hex',
    text: [...shown].map((b) => b.toString(16).padStart(2, '0')).join(' '),
    bytes: bytes.length,
    truncated: shown.length < bytes.length,
  };
}

/**
 * What becomes of a dead letter. Its offset is behind the checkpoint, which `replay` and `redrive` both treat as
 * applied (README, "Nothing written off"), so neither applies it again: saying so beats offering a command that
 * reports 0 written.
 */
export function deadLetterFate(d: Pick<DeadLetterView, 'topic' | 'partition' | 'offset'>): string {
  return (
    `Stays dead-lettered: the checkpoint has passed ${d.topic}-${d.partition} @ ${d.offset}, so neither ` +
    "replay nor redrive applies it again. The record stays in Kafka until the topic's retention removes it."
  );
}

export function redriveCommand(job: string): string {
  return `microbatch redrive ${job}`;
}

const sumOf = (values: readonly number[]) => values.reduce((n, v) => n + v, 0);

export function batchSummary(b: BatchRow) {
  return {
    batchId: b.batchId,
    startedAt: b.startedAt.toISOString(),
    durationMs: b.durationMs,
    recordsIn: b.recordsIn,
    written: b.written,
    duplicates: b.duplicates,
    deadLettered: b.deadLettered,
    late: b.late,
    skipped: b.skipped,
    filtered: b.filtered,
    deferred: b.deferred,
    lost: b.lost,
    mode: b.mode,
    watermarkMs: b.watermarkMs,
    // From the Kafka timestamps of its oldest and newest record to its end; null on older ledger rows.
    latencyMs: recordLatencies(b),
    phases: b.phases,
    offsetRanges: b.offsetRanges,
    href: batchHref(b.job, b.startedAt, b.batchId),
  };
}

export function batchHref(job: string, startedAt: Date, batchId: string): string {
  return `/jobs/${encodeURIComponent(job)}/batches/${encodeURIComponent(startedAt.toISOString())}/${encodeURIComponent(batchId)}`;
}

/** A dead letter as the API returns it; the stored payload (up to 256 KB) in base64 only when `raw` asks. */
export function deadLetterJson(d: DeadLetterView, { raw = false }: { raw?: boolean } = {}) {
  return {
    job: d.job,
    topic: d.topic,
    partition: d.partition,
    offset: d.offset,
    reason: d.reason,
    detail: d.detail,
    recordTimestamp: d.recordTimestamp?.toISOString() ?? null,
    key: payloadView(d.keyBase64, 512),
    value: payloadView(d.valueBase64),
    ...(raw && { valueBase64: d.valueBase64 }),
    fate: deadLetterFate(d),
  };
}

export class Views {
  constructor(
    private readonly data: UiData,
    private readonly sampler: Sampler,
    private readonly jobs: () => readonly UiJob[],
    private readonly clock: () => number = Date.now,
  ) {}

  job(name: string): UiJob {
    const job = this.jobs().find((j) => j.name === name);
    if (!job)
      throw new NotFound(
        `No job '${name}'. Jobs: ${this.jobs()
          .map((j) => j.name)
          .join(', ')}.`,
      );
    return job;
  }

  /** The partitions of a job's topics, as Kafka last reported them. */
  private partitionsOf(job: UiJob): Array<{ topic: string; partition: number }> {
    const lag = this.sampler.latest(job.name)?.lag;
    if (lag) return lag.partitions.map((p) => ({ topic: p.topic, partition: p.partition }));
    return job.topics.flatMap((topic) =>
      Array.from({ length: job.partitionsPerTopic[topic] ?? 1 }, (_, partition) => ({ topic, partition })),
    );
  }

  async overview() {
    return {
      jobs: await Promise.all(this.jobs().map((j) => this.jobSummary(j))),
      at: new Date(this.clock()).toISOString(),
    };
  }

  async jobSummary(job: UiJob) {
    const now = this.clock();
    const [recent, last, hour, skipped, inFlight] = await Promise.all([
      this.data.batchesBetween(job.name, new Date(now - 60_000), new Date(now + 1000), 2000),
      this.data.latestBatch(job.name, new Date(now), isLiveBatch),
      this.data.metricsBetween(job.name, '1m', new Date(now - 3_600_000), new Date(now + 1000), 62),
      this.skippedRanges(job),
      this.inFlight(job, now),
    ]);
    const lag = this.sampler.latest(job.name);
    const { state, reason } = classifyState({
      now,
      job,
      lastBatchEnd: last ? last.startedAt.getTime() + last.durationMs : null,
      lag,
    });
    const rollups = hour.map((m) => m.rollup).filter((r) => r !== null);
    const live = recent.rows.filter(isLiveBatch);
    const pending = skipped?.filter((r) => r.status === 'pending') ?? null;
    return {
      name: job.name,
      kind: job.kind,
      doc: job.doc,
      topics: job.topics,
      consumerGroupId: job.consumerGroupId,
      state,
      stateReason: reason,
      inPerSecond: sumOf(live.map((b) => b.recordsIn)) / 60,
      writtenPerSecond: sumOf(live.map((b) => b.written)) / 60,
      lag: lag?.lag
        ? {
            records: lag.lag.records,
            seconds: lag.lag.seconds,
            secondsAtLeast: lag.lag.secondsAtLeast,
            members: lag.lag.members,
            groupState: lag.lag.state,
            at: lag.at.toISOString(),
          }
        : null,
      lagError: lag?.error ?? null,
      lastBatch: last ? batchSummary(last) : null,
      inFlight,
      deadLettersLastHour: rollups.length ? sumOf(rollups.map((r) => r.deadLettered)) : null,
      // Spark's streaming page opens with its totals and mean processing time: the last hour's, from the rollups.
      lastHour: rollups.length ? hourTotals(rollups) : null,
      skippedRanges:
        pending === null
          ? null
          : {
              pending: pending.length,
              records: sumOf(
                pending.map((r) => r.untilOffset - Math.max(r.fromOffset, r.nextOffset ?? r.fromOffset)),
              ),
              command: redriveCommand(job.name),
            },
      href: `/jobs/${encodeURIComponent(job.name)}`,
    };
  }

  /**
   * Spark's "active batches": the ledger has a batch only once it finished, but a batch in flight holds an open
   * claim on its partition's checkpoint, `[next_offset, claim_until)` since `claim_time` (lambda/runtime/
   * checkpoint.ts). A claim whose attempt died stays open too, until the partition's next batch finishes it.
   */
  async inFlight(job: UiJob, now: number) {
    const checkpoints = await Promise.all(
      this.partitionsOf(job).map((p) => this.data.checkpoint(job.name, p.topic, p.partition)),
    );
    return checkpoints.flatMap((c) =>
      c?.claimId && c.claimUntil !== null
        ? [
            {
              topic: c.topic,
              partition: c.partition,
              claimId: c.claimId,
              fromOffset: c.nextOffset,
              untilOffset: c.claimUntil,
              records: Math.max(0, c.claimUntil - (c.nextOffset ?? c.claimUntil)),
              since: c.claimTime?.toISOString() ?? null,
              forMs: c.claimTime ? Math.max(0, now - c.claimTime.getTime()) : null,
            },
          ]
        : [],
    );
  }

  /** Every skipped range of the job's partitions; null when the deployment keeps none (no table yet). */
  async skippedRanges(job: UiJob) {
    const lists = await Promise.all(
      this.partitionsOf(job).map((p) => this.data.skippedRanges(job.name, p.topic, p.partition)),
    );
    if (lists.some((l) => l === null)) return null;
    return lists.flatMap((l) => l!);
  }

  async skippedRangesView(name: string) {
    const job = this.job(name);
    const ranges = await this.skippedRanges(job);
    return {
      job: job.name,
      available: ranges !== null,
      ranges: (ranges ?? []).map((r) => ({
        ...r,
        detectedAt: r.detectedAt?.toISOString() ?? null,
        redrivenAt: r.redrivenAt?.toISOString() ?? null,
      })),
      command: redriveCommand(job.name),
    };
  }

  async series(name: string, rangeName: string) {
    const job = this.job(name);
    // Own keys only: `in` also finds Object.prototype's (constructor, toString), which are no range.
    if (!Object.hasOwn(RANGES, rangeName))
      throw new BadRequest(
        `range must be one of ${Object.keys(RANGES).join(', ')}; received '${rangeName}'.`,
      );
    const range = rangeName as RangeName;
    const to = this.clock();
    const from = to - RANGES[range];
    const lagRows = await this.data.metricsBetween(
      job.name,
      range === '24h' ? '1m' : '5s',
      new Date(from),
      new Date(to + 1000),
      range === '24h' ? 1500 : 800,
    );
    const base = {
      job: job.name,
      kind: job.kind,
      range,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      lag: lagSeries(lagRows),
    };
    if (range === '5m')
      return { ...base, resolution: 'batch' as const, ...(await this.batchSeries(job, from, to)) };
    const rollups = await this.data.metricsBetween(job.name, '1m', new Date(from), new Date(to + 1000), 1500);
    // Whole minutes only: the minute under way holds only its first seconds' batches, and its records over 60 s
    // would plot (and show in the legend, as the latest value) a rate that falls to 0 at each minute's start.
    const whole = rollups.filter((r) => r.at.getTime() + 60_000 <= to);
    return { ...base, resolution: 'minute' as const, truncated: false, ...minuteSeries(job, whole) };
  }

  /** One point per batch: the job's input rate then (`inputRates`), and the batch's own processing rate. */
  private async batchSeries(job: UiJob, from: number, to: number) {
    // One more minute before the range gives the first batch its predecessor.
    const { rows, truncated } = await this.data.batchesBetween(
      job.name,
      new Date(from - 60_000),
      new Date(to + 1000),
      3000,
    );
    const batches = [...rows].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    const rates = inputRates(batches, job.batchingWindowSeconds);
    const t: number[] = [];
    const inputRate: Array<number | null> = [];
    const processRate: Array<number | null> = [];
    const phases = {
      readClaim: [] as Array<number | null>,
      transform: [] as Array<number | null>,
      effects: [] as Array<number | null>,
      commit: [] as Array<number | null>,
      other: [] as Array<number | null>,
    };
    const latency = { oldest: [] as Array<number | null>, newest: [] as Array<number | null> };
    const watermark: Array<number | null> = [];
    const gap: Array<number | null> = [];
    const late: number[] = [];
    const deadLettered: number[] = [];
    const reasons: Array<Record<string, number>> = [];
    const batchIds: string[] = [];
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      const start = b.startedAt.getTime();
      if (start < from) continue;
      t.push(start / 1000);
      batchIds.push(b.batchId);
      inputRate.push(rates[i]!);
      processRate.push(b.durationMs > 0 ? (b.recordsIn * 1000) / b.durationMs : null);
      const p = b.phases;
      phases.readClaim.push(p?.readClaimMs ?? null);
      phases.transform.push(p?.transformMs ?? null);
      phases.effects.push(p?.effectsMs ?? null);
      phases.commit.push(p?.commitMs ?? null);
      phases.other.push(
        p
          ? Math.max(0, b.durationMs - p.readClaimMs - p.transformMs - p.effectsMs - p.commitMs)
          : b.durationMs,
      );
      // A replay's or a redrive's records are as old as the data it re-reads: no point, as for the input rate.
      const l = isLiveBatch(b) ? recordLatencies(b) : null;
      latency.oldest.push(l && l.oldestMs);
      latency.newest.push(l && l.newestMs);
      watermark.push(b.watermarkMs);
      gap.push(b.watermarkMs === null ? null : (start + b.durationMs - b.watermarkMs) / 1000);
      late.push(b.late);
      deadLettered.push(b.deadLettered);
      reasons.push(b.deadLettered > 0 ? await this.sampler.reasonsOf(b) : {});
    }
    return {
      truncated,
      batchIds,
      throughput: { t, inputRate, processRate },
      duration: { t, ...phases },
      latency: { t, ...latency },
      watermark: job.kind === 'window' ? { t, watermarkMs: watermark, gapSeconds: gap } : null,
      deadLetters: { t, ...reasonSeries(reasons), late, total: deadLettered },
    };
  }

  async batches(name: string, limitText: string | null, cursorText: string | null) {
    const job = this.job(name);
    const limit = limitText === null ? 20 : integerParam(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      throw new BadRequest(`limit must be an integer from 1 to 500; received '${limitText}'.`);
    // An empty cursor is the first page, as README's `?limit=20&cursor=` and /api/dead-letters have it.
    const cursor = !cursorText
      ? null
      : decodeCursor<BatchCursor>(
          cursorText,
          (c) =>
            typeof c.day === 'string' &&
            isCalendarDay(c.day) &&
            (c.pageState === null ||
              (typeof c.pageState === 'string' && /^([0-9a-f]{2})+$/.test(c.pageState))),
        );
    const page = await this.data
      .batchPage(job.name, limit, cursor, new Date(this.clock()))
      .catch((error: unknown) => {
        // A paging state of the right form that Cassandra did not issue: the caller's cursor, not the store.
        if (cursor?.pageState && /paging state/i.test(String((error as Error)?.message)))
          throw new BadRequest(CURSOR_REFUSED, { cause: error });
        throw error;
      });
    return {
      job: job.name,
      batches: page.rows.map(batchSummary),
      next: page.next ? encodeCursor(page.next) : null,
    };
  }

  /**
   * The ledger row of one batch: a BadRequest for a start time that is not ISO-8601, a NotFound for a batch
   * the ledger does not have. The batch page's route asks it too, so that an unknown batch is a 404 page.
   */
  async findBatch(name: string, startedAtText: string, batchId: string) {
    const job = this.job(name);
    // A time of day too: a batch's link carries its start to the millisecond (toISOString), and a day alone
    // would be midnight, the start of no batch.
    const startedAt = new Date(startedAtText[10] === 'T' ? isoTimeMs(startedAtText) : Number.NaN);
    if (Number.isNaN(startedAt.getTime()))
      throw new BadRequest(
        `The batch's start time must be an ISO-8601 time on a day of the calendar, such as ${ISO_TIME_EXAMPLE}; received '${startedAtText}'.`,
      );
    const b = await this.data.batch(job.name, startedAt, batchId);
    if (!b) throw new NotFound(`No batch ${batchId} of ${job.name} started at ${startedAt.toISOString()}.`);
    return { job, batch: b };
  }

  async batch(name: string, startedAtText: string, batchId: string) {
    const { job, batch: b } = await this.findBatch(name, startedAtText, batchId);
    const keys = new Map<string, { topic: string; partition: number }>();
    for (const r of b.offsetRanges) keys.set(`${r.topic}/${r.partition}`, r);
    for (const p of b.partitions ?? []) keys.set(`${p.topic}/${p.partition}`, p);
    const [checkpoints, deadLetters] = await Promise.all([
      Promise.all([...keys.values()].map((k) => this.data.checkpoint(job.name, k.topic, k.partition))),
      Promise.all(
        b.offsetRanges.map((r) => {
          const p = b.partitions?.find((x) => x.topic === r.topic && x.partition === r.partition);
          const from = p?.nextBefore ?? r.fromOffset;
          const until = p?.nextAfter ?? r.untilOffset;
          return b.deadLettered > 0
            ? this.data.deadLettersInRange(job.name, r.topic, r.partition, from, until, 200)
            : [];
        }),
      ),
    ]);
    return {
      job: job.name,
      kind: job.kind,
      batch: batchSummary(b),
      offsetRanges: b.offsetRanges.map((r) => ({
        ...r,
        count: r.untilOffset - r.fromOffset,
        spark: `OffsetRange(topic: '${r.topic}', partition: ${r.partition}, range: [${r.fromOffset} -> ${r.untilOffset}])`,
      })),
      partitions: b.partitions,
      checkpointsNow: checkpoints
        .filter((c): c is CheckpointView => c !== null)
        .map((c) => ({
          ...c,
          claimTime: c.claimTime?.toISOString() ?? null,
          updatedAt: c.updatedAt?.toISOString() ?? null,
        })),
      deadLetters: deadLetters.flat().map((d) => deadLetterJson(d)),
    };
  }

  /**
   * Dead letters, newest first, filtered by job, reason, topic, partition and record time: a merge of each
   * partition's newest rows. At most `maxScan` rows are read per request; `next` continues the walk.
   */
  async deadLetters(params: URLSearchParams, maxScan = 5000) {
    const jobName = params.get('job');
    const jobs = jobName ? [this.job(jobName)] : [...this.jobs()];
    const reason = params.get('reason') || null;
    if (reason !== null && !(DEAD_LETTER_REASONS as readonly string[]).includes(reason))
      throw new BadRequest(`reason must be one of ${DEAD_LETTER_REASONS.join(', ')}; received '${reason}'.`);
    const topic = params.get('topic') || null;
    const partitionText = params.get('partition');
    const partition = partitionText ? integerParam(partitionText) : null;
    if (partition !== null && !Number.isInteger(partition))
      throw new BadRequest(`partition must be an integer; received '${partitionText}'.`);
    const time = (name: string): number | null => {
      const raw = params.get(name);
      if (!raw) return null;
      const t = isoTimeMs(raw);
      if (Number.isNaN(t))
        throw new BadRequest(
          `${name} must be an ISO-8601 time on a day of the calendar, such as ${ISO_TIME_EXAMPLE}; received '${raw}'.`,
        );
      return t;
    };
    const from = time('from');
    const to = time('to');
    if (from !== null && to !== null && from >= to)
      throw new BadRequest(
        `from must be before to; received from ${new Date(from).toISOString()}, to ${new Date(to).toISOString()}.`,
      );
    const limitText = params.get('limit');
    const limit = limitText === null ? 50 : integerParam(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      throw new BadRequest(`limit must be an integer from 1 to 500; received '${limitText}'.`);
    const rawText = params.get('raw');
    if (rawText !== null && rawText !== '1' && rawText !== '0')
      throw new BadRequest(`raw must be 1 (with each stored payload in base64) or 0; received '${rawText}'.`);
    const raw = rawText === '1';

    // A topic or partition the jobs do not have is the caller's mistake, not an empty page.
    const all = jobs.flatMap((job) => this.partitionsOf(job));
    if (topic !== null && !all.some((p) => p.topic === topic))
      throw new BadRequest(
        `topic must be one of ${[...new Set(all.map((p) => p.topic))].join(', ')}; received '${topic}'.`,
      );
    if (
      partition !== null &&
      !all.some((p) => (topic === null || p.topic === topic) && p.partition === partition)
    )
      throw new BadRequest(
        `partition must be one of ${[...new Set(all.filter((p) => topic === null || p.topic === topic).map((p) => p.partition))].sort((a, b) => a - b).join(', ')}` +
          `${topic === null ? '' : ` for topic ${topic}`}; received ${partition}.`,
      );
    const reads = jobs.flatMap((job) =>
      this.partitionsOf(job)
        .filter(
          (p) => (topic === null || p.topic === topic) && (partition === null || p.partition === partition),
        )
        .map((p) => ({ key: `${job.name}/${p.topic}/${p.partition}`, job: job.name, ...p })),
    );
    const cursorText = params.get('cursor');
    // `next` holds a position for each partition read, and nothing else: -1 once it is read to its end, else
    // the offset to read below. A key of no partition read leaves every partition at its newest (page one
    // again), and one missing restarts its partition there, so a cursor of other keys is refused.
    const cursor = cursorText
      ? decodeCursor<Record<string, unknown>>(
          cursorText,
          (c) =>
            Object.keys(c).length === reads.length &&
            reads.every(({ key }) => {
              const v = c[key];
              return Number.isSafeInteger(v) && (v as number) >= -1;
            }),
        )
      : {};
    const readers = reads.map((r) => {
      const before = cursor[r.key] as number | undefined;
      return { ...r, before: before ?? null, buffer: [] as DeadLetterView[], done: before === -1 };
    });
    const chunk = Math.min(limit, 200);
    const rows: DeadLetterView[] = [];
    let scanned = 0;
    const at = (d: DeadLetterView) => d.recordTimestamp?.getTime() ?? 0;
    // A full page looks for one more match before it offers `next`, so that "Older" never leads to an empty
    // page: a partition's reader that read exactly `chunk` rows cannot tell that nothing older matches.
    let more = false;
    for (;;) {
      for (const r of readers) {
        if (r.buffer.length || r.done || scanned >= maxScan) continue;
        const got = await this.data.deadLettersBefore(r.job, r.topic, r.partition, r.before, chunk);
        scanned += got.length;
        r.buffer.push(...got);
        if (got.length < chunk) r.done = true;
      }
      const live = readers.filter((r) => r.buffer.length);
      if (!live.length) break;
      const pick = live.reduce((a, b) => (at(b.buffer[0]!) > at(a.buffer[0]!) ? b : a));
      const d = pick.buffer.shift()!;
      pick.before = d.offset;
      // No record time (Kafka gave none, or one out of a Date's range): it matches no time filter, and, read as
      // 1970, it ended the partition's scan, hiding every older dead letter within the range.
      if ((from !== null || to !== null) && d.recordTimestamp === null) continue;
      if (from !== null && at(d) < from) {
        // Offsets grow with time within a partition: nothing older is wanted from it.
        pick.buffer.length = 0;
        pick.done = true;
        continue;
      }
      if (to !== null && at(d) >= to) continue;
      if (reason !== null && d.reason !== reason) continue;
      if (rows.length === limit) {
        // Back in its buffer: the cursor of a reader with a buffer starts at the buffer's first.
        pick.buffer.unshift(d);
        more = true;
        break;
      }
      rows.push(d);
    }
    // Without a match past the page, only a reader the scan cap stopped may still hold older matches.
    const next =
      more || readers.some((r) => !r.done)
        ? encodeCursor(
            Object.fromEntries(
              readers.map((r) => [
                r.key,
                r.done && !r.buffer.length
                  ? -1
                  : r.buffer.length
                    ? r.buffer[0]!.offset + 1
                    : (r.before ?? Number.MAX_SAFE_INTEGER),
              ]),
            ),
          )
        : null;
    return {
      filters: {
        job: jobName,
        reason,
        topic,
        partition,
        from: from === null ? null : new Date(from).toISOString(),
        to: to === null ? null : new Date(to).toISOString(),
      },
      deadLetters: rows.map((d) => deadLetterJson(d, { raw })),
      scanned,
      next,
      jobs: this.jobs().map((j) => j.name),
      partitions: readers.map((r) => ({ job: r.job, topic: r.topic, partition: r.partition })),
    };
  }
}

/** The batches, records and processing time of minute rollups, added up. */
export function hourTotals(rollups: ReadonlyArray<NonNullable<MetricsRow['rollup']>>) {
  const batches = sumOf(rollups.map((r) => r.batches));
  return {
    batches,
    recordsIn: sumOf(rollups.map((r) => r.recordsIn)),
    written: sumOf(rollups.map((r) => r.written)),
    meanDurationMs: batches ? sumOf(rollups.map((r) => r.durationMsSum)) / batches : null,
    maxDurationMs: batches ? Math.max(...rollups.map((r) => r.durationMsMax)) : null,
    maxLatencyMs: longestLatencies(rollups.map((r) => r.latencyMaxMs)),
  };
}

/**
 * The job's input rate at each of `batches` (in start order), Spark's "records over the batch interval" per
 * partition, summed over the partitions: a partition's rate is the records of its offset range over the time
 * since the previous batch that had it (the batching window for its first). Batches are per poller and start
 * milliseconds apart, so the interval to the previous batch of any partition would count one poller's records
 * over another's gap. A partition no batch has had for twice its interval (or window) has stopped adding. A
 * replay's or a redrive's batch re-reads old offsets: it gets no rate (null) and leaves the partitions' alone.
 */
export function inputRates(batches: readonly BatchRow[], windowSeconds: number): Array<number | null> {
  const partitions = new Map<string, { at: number; rate: number; intervalMs: number }>();
  return batches.map((b) => {
    if (!isLiveBatch(b)) return null;
    const at = b.startedAt.getTime();
    for (const r of b.offsetRanges) {
      const key = `${r.topic}/${r.partition}`;
      const prev = partitions.get(key);
      const intervalMs = prev ? at - prev.at : windowSeconds * 1000;
      if (intervalMs <= 0) continue;
      partitions.set(key, { at, rate: ((r.untilOffset - r.fromOffset) * 1000) / intervalMs, intervalMs });
    }
    let sum = 0;
    for (const [key, p] of partitions) {
      if (at - p.at > 2 * Math.max(p.intervalMs, windowSeconds * 1000)) partitions.delete(key);
      else sum += p.rate;
    }
    return sum;
  });
}

function reasonSeries(perPoint: ReadonlyArray<Record<string, number> | null>): {
  reasons: Record<string, Array<number | null>>;
} {
  const names = [...new Set(perPoint.flatMap((r) => (r ? Object.keys(r) : [])))].sort();
  return {
    reasons: Object.fromEntries(
      names.map((n) => [n, perPoint.map((r) => (r === null ? null : (r[n] ?? 0)))]),
    ),
  };
}

function lagSeries(rows: readonly MetricsRow[]) {
  const withLag = rows.filter((r) => r.lag !== null);
  const keys = new Map<string, { topic: string; partition: number }>();
  for (const r of withLag) for (const p of r.lag!) keys.set(`${p.topic}/${p.partition}`, p);
  const t = withLag.map((r) => r.at.getTime() / 1000);
  return {
    t,
    // The consumer group's members at each sample: 0 tells a stopped job from an idle one, whose rates are 0 too.
    members: withLag.map((r) => r.groupMembers),
    partitions: [...keys.entries()]
      .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
      .map(([key, { topic, partition }]) => {
        const at = (r: MetricsRow) => r.lag!.find((p) => `${p.topic}/${p.partition}` === key);
        return {
          topic,
          partition,
          records: withLag.map((r) => at(r)?.records ?? null),
          seconds: withLag.map((r) => at(r)?.seconds ?? null),
        };
      }),
  };
}

function minuteSeries(job: UiJob, rows: readonly MetricsRow[]) {
  // The sampler writes a rollup for every minute of the last 24 hours, with or without batches: the range
  // starts at the job's first minute with a batch, so a job two minutes old is not plotted as a day of zeros.
  const rolled = rows.filter((r) => r.rollup !== null);
  const first = rolled.findIndex((r) => r.rollup!.batches > 0);
  const minutes = first === -1 ? [] : rolled.slice(first);
  const t = minutes.map((r) => r.at.getTime() / 1000);
  const rs = minutes.map((r) => r.rollup!);
  const avg = (sum: number, n: number) => (n > 0 ? sum / n : null);
  return {
    batchIds: null,
    throughput: {
      t,
      inputRate: rs.map((r) => r.recordsIn / 60),
      // The live stream's records over the live batches' time: a replay's batches count neither (a rollup from
      // before the live sum was kept has only the total).
      processRate: rs.map((r) => {
        const ms = r.liveDurationMsSum ?? r.durationMsSum;
        return ms > 0 ? (r.recordsIn * 1000) / ms : null;
      }),
    },
    duration: {
      t,
      readClaim: rs.map((r) => avg(r.phaseSums.readClaimMs, r.phasedBatches)),
      transform: rs.map((r) => avg(r.phaseSums.transformMs, r.phasedBatches)),
      effects: rs.map((r) => avg(r.phaseSums.effectsMs, r.phasedBatches)),
      commit: rs.map((r) => avg(r.phaseSums.commitMs, r.phasedBatches)),
      other: rs.map((r) => {
        const total = avg(r.durationMsSum, r.batches);
        if (total === null) return null;
        const phased = r.phasedBatches
          ? (r.phaseSums.readClaimMs +
              r.phaseSums.transformMs +
              r.phaseSums.effectsMs +
              r.phaseSums.commitMs) /
            r.phasedBatches
          : 0;
        return Math.max(0, total - phased);
      }),
    },
    latency: {
      t,
      oldest: rs.map((r) => r.latencyMaxMs?.oldestMs ?? null),
      newest: rs.map((r) => r.latencyMaxMs?.newestMs ?? null),
    },
    watermark:
      job.kind === 'window'
        ? {
            t,
            watermarkMs: rs.map((r) => r.watermarkMs),
            gapSeconds: rs.map((r) => (r.watermarkGapMs === null ? null : r.watermarkGapMs / 1000)),
          }
        : null,
    deadLetters: {
      t,
      ...reasonSeries(rs.map((r) => r.deadLetterReasons)),
      late: rs.map((r) => r.late),
      total: rs.map((r) => r.deadLettered),
    },
  };
}

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

const CURSOR_REFUSED =
  'cursor is not one this API returned: pass the `next` value of the previous page as is.';

export function decodeCursor<T>(text: string, valid: (value: T) => boolean): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  // Every cursor this API returns is an object: an array passes `typeof` and, read by key, means no position
  // at all, so it would be served as page one instead of refused.
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !valid(value as T))
    throw new BadRequest(CURSOR_REFUSED);
  return value as T;
}
