/**
 * What the UI server samples while it runs, into its own `ui_metrics` table (schema/tables.ts):
 * - every 5 s, each job's consumer lag per partition from Kafka (and, once a minute, the same at the minute);
 * - every 5 s, per-minute rollups of the ledger for the last few minutes, recomputed from the ledger itself so
 *   that a batch recorded late, or a second UI server, gives the same rows; at start, the last 24 hours once.
 * Times sit on a fixed grid, so rewriting a row is harmless.
 */
import type { Admin } from 'kafkajs';
import { isLiveBatch, longestLatencies, type BatchRow, type Rollup, type UiData } from './data';
import { recordLatencies } from '../../lambda/runtime/batch';
import { EndOffsetHistory, readGroupLag, type GroupLag } from './lag';
import type { UiJob } from './jobs';

export const SAMPLE_MS = 5_000;
const MINUTE_MS = 60_000;
/** How far back each tick recomputes rollups: batches are recorded when they end, up to minutes later. */
const ROLLUP_LOOKBACK_MS = 3 * MINUTE_MS;
/** The largest ledger slice one rollup pass reads per job. */
const ROLLUP_MAX_BATCHES = 50_000;

export interface LagReading {
  readonly at: Date;
  readonly lag: GroupLag | null;
  /** Why there is no reading, e.g. Kafka not reachable. */
  readonly error: string | null;
}

/** The dead letters of one batch per reason: only its own offsets, [checkpoint before, checkpoint after). */
export async function batchDeadLetterReasons(data: UiData, batch: BatchRow): Promise<Record<string, number>> {
  const reasons: Record<string, number> = {};
  if (batch.deadLettered === 0) return reasons;
  const ranges = batch.partitions?.length
    ? batch.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        from: p.nextBefore ?? p.fromOffset ?? 0,
        until: p.nextAfter ?? p.untilOffset ?? 0,
      }))
    : batch.offsetRanges.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        from: r.fromOffset,
        until: r.untilOffset,
      }));
  for (const r of ranges) {
    const rows = await data.deadLettersInRange(
      batch.job,
      r.topic,
      r.partition,
      r.from,
      r.until,
      Math.min(10_000, Math.max(1, r.until - r.from)),
    );
    for (const d of rows) reasons[d.reason] = (reasons[d.reason] ?? 0) + 1;
  }
  return reasons;
}

/** Folds batches into one rollup per minute of [from, to); minutes without batches get zero rows. */
export function rollupByMinute(
  batches: readonly BatchRow[],
  from: number,
  to: number,
  reasonsOf: (batch: BatchRow) => Record<string, number> | null,
): Map<number, Rollup> {
  const out = new Map<number, Rollup>();
  const start = Math.floor(from / MINUTE_MS) * MINUTE_MS;
  const byMinute = new Map<number, BatchRow[]>();
  for (const b of batches) {
    const m = Math.floor(b.startedAt.getTime() / MINUTE_MS) * MINUTE_MS;
    let list = byMinute.get(m);
    if (!list) byMinute.set(m, (list = []));
    list.push(b);
  }
  for (let m = start; m < to; m += MINUTE_MS) {
    const inMinute = (byMinute.get(m) ?? []).sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    const phased = inMinute.filter((b) => b.phases !== null);
    const sum = (f: (b: BatchRow) => number, list = inMinute) => list.reduce((n, b) => n + f(b), 0);
    let reasons: Record<string, number> | null = {};
    for (const b of inMinute) {
      const r = reasonsOf(b);
      if (r === null) {
        reasons = null;
        break;
      }
      for (const [k, v] of Object.entries(r)) reasons[k] = (reasons[k] ?? 0) + v;
    }
    const withWatermark = inMinute.filter((b) => b.watermarkMs !== null);
    const last = withWatermark[withWatermark.length - 1];
    out.set(m, {
      batches: inMinute.length,
      // The live stream's input only: a replay or a redrive re-reads records the live batches counted.
      recordsIn: sum((b) => (isLiveBatch(b) ? b.recordsIn : 0)),
      written: sum((b) => b.written),
      deadLettered: sum((b) => b.deadLettered),
      late: sum((b) => b.late),
      durationMsSum: sum((b) => b.durationMs),
      liveDurationMsSum: sum((b) => (isLiveBatch(b) ? b.durationMs : 0)),
      durationMsMax: inMinute.reduce((n, b) => Math.max(n, b.durationMs), 0),
      phasedBatches: phased.length,
      phaseSums: {
        readClaimMs: sum((b) => b.phases!.readClaimMs, phased),
        transformMs: sum((b) => b.phases!.transformMs, phased),
        effectsMs: sum((b) => b.phases!.effectsMs, phased),
        commitMs: sum((b) => b.phases!.commitMs, phased),
      },
      watermarkMs: last ? last.watermarkMs : null,
      watermarkGapMs: last ? last.startedAt.getTime() + last.durationMs - last.watermarkMs! : null,
      deadLetterReasons: reasons,
      // The live stream's latency only: a replay's or a redrive's records are as old as the data it re-reads.
      latencyMaxMs: longestLatencies(inMinute.map((b) => (isLiveBatch(b) ? recordLatencies(b) : null))),
    });
  }
  return out;
}

export interface SamplerOptions {
  readonly data: UiData;
  readonly jobs: () => readonly UiJob[];
  /** A connected kafkajs admin; without one the UI shows no lag and says why. */
  readonly admin: Pick<Admin, 'fetchTopicOffsets' | 'fetchOffsets' | 'describeGroups'> | null;
  /** @default - print to stderr */
  readonly log?: (line: Record<string, unknown>) => void;
  /** @default - `Date.now` */
  readonly clock?: () => number;
  /** Recompute the last 24 hours of rollups at start. @default true */
  readonly backfill?: boolean;
}

export class Sampler {
  private readonly history = new EndOffsetHistory();
  private readonly latestLag = new Map<string, LagReading>();
  private readonly reasonsCache = new Map<string, Record<string, number>>();
  private readonly lastMinuteWritten = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private backfilling: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly stopping: Promise<null>;
  private stopNow!: () => void;
  private readonly clock: () => number;
  private readonly log: (line: Record<string, unknown>) => void;

  constructor(private readonly options: SamplerOptions) {
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? ((line) => console.error(JSON.stringify(line)));
    this.stopping = new Promise<void>((resolve) => (this.stopNow = resolve)).then(() => null);
  }

  latest(job: string): LagReading | undefined {
    return this.latestLag.get(job);
  }

  /** The dead letters per reason of a batch, cached: a recorded batch's dead letters never change. */
  async reasonsOf(batch: BatchRow): Promise<Record<string, number>> {
    const key = `${batch.job}/${batch.batchId}`;
    const cached = this.reasonsCache.get(key);
    if (cached) return cached;
    const reasons = await batchDeadLetterReasons(this.options.data, batch);
    if (this.reasonsCache.size >= 20_000) this.reasonsCache.delete(this.reasonsCache.keys().next().value!);
    this.reasonsCache.set(key, reasons);
    return reasons;
  }

  start(): void {
    const tick = () => {
      this.running = this.tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, SAMPLE_MS - (this.clock() % SAMPLE_MS));
      });
    };
    tick();
    if (this.options.backfill ?? true) {
      const now = this.clock();
      this.backfilling = this.backfill(now).catch((error: unknown) =>
        this.log({ level: 'WARN', message: 'UI rollup backfill failed', error: String(error) }),
      );
    }
  }

  /** The last 24 hours, an hour at a time, newest first, so the 1-hour chart fills first. */
  private async backfill(now: number): Promise<void> {
    const end = now - ROLLUP_LOOKBACK_MS;
    for (let h = 0; h < 24 && !this.stopped; h++) {
      await this.rollup(Math.max(end - (h + 1) * 3_600_000, now - 24 * 3_600_000), end - h * 3_600_000, {
        untilStopped: true,
      });
    }
  }

  /**
   * Waits for the tick and the backfill under way: the caller shuts the database client down next, and a
   * backfill left running failed on the closed socket and logged "UI rollup backfill failed" at every quick stop.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopNow();
    clearTimeout(this.timer);
    await Promise.all([this.running, this.backfilling]);
  }

  /** One sampling round: lag of every job, then the recent rollups. Exposed for tests. */
  async tick(): Promise<void> {
    const now = this.clock();
    await Promise.all(this.options.jobs().map((job) => this.sampleLag(job, now)));
    if (this.stopped) return;
    await this.rollup(now - ROLLUP_LOOKBACK_MS, now).catch((error: unknown) =>
      this.log({ level: 'WARN', message: 'UI rollup failed', error: String(error) }),
    );
  }

  private async sampleLag(job: UiJob, now: number): Promise<void> {
    const at = new Date(Math.floor(now / SAMPLE_MS) * SAMPLE_MS);
    if (!this.options.admin) {
      this.latestLag.set(job.name, { at, lag: null, error: 'no Kafka connection' });
      return;
    }
    // A Kafka that does not answer holds the read through kafkajs's connection retries, about 10 s: a stop
    // does not wait for a reading it would drop (the CLI then exits, ending the retries).
    const read = await Promise.race([
      readGroupLag(this.options.admin, job.consumerGroupId, job.topics, this.history, now).then(
        (lag) => ({ lag }),
        (error: unknown) => ({ error }),
      ),
      this.stopping,
    ]);
    if (read === null) return;
    if ('error' in read) {
      this.latestLag.set(job.name, {
        at,
        lag: null,
        error: `Kafka: ${String((read.error as Error).message ?? read.error)}`,
      });
      return;
    }
    const lag: GroupLag = read.lag;
    this.latestLag.set(job.name, { at, lag, error: null });
    const sample = {
      lag: lag.partitions,
      lagRecords: lag.records,
      lagSeconds: lag.seconds,
      groupMembers: lag.members,
      groupState: lag.state,
    };
    try {
      await this.options.data.writeLagSample(job.name, '5s', at, sample);
      const minute = Math.floor(now / 60_000) * 60_000;
      if (this.lastMinuteWritten.get(job.name) !== minute) {
        await this.options.data.writeLagSample(job.name, '1m', new Date(minute), sample);
        this.lastMinuteWritten.set(job.name, minute);
      }
    } catch (error) {
      this.log({ level: 'WARN', message: 'UI lag sample not stored', job: job.name, error: String(error) });
    }
  }

  /**
   * Recomputes the minute rollups of [from, to) from the ledger, for every job. `untilStopped`: the backfill's
   * hours of rollups give up at a stop, which would otherwise wait for up to 60 writes per job; a tick's few
   * minutes finish, as the stop message promises.
   */
  async rollup(from: number, to: number, { untilStopped = false } = {}): Promise<void> {
    const start = Math.floor(from / MINUTE_MS) * MINUTE_MS;
    const giveUp = () => untilStopped && this.stopped;
    for (const job of this.options.jobs()) {
      if (giveUp()) return;
      const { rows, truncated } = await this.options.data.batchesBetween(
        job.name,
        new Date(start),
        new Date(to),
        ROLLUP_MAX_BATCHES,
      );
      if (truncated)
        this.log({
          level: 'WARN',
          message: 'UI rollup read the ledger only in part',
          job: job.name,
          from: start,
          to,
        });
      const reasons = new Map<string, Record<string, number>>();
      if (giveUp()) return;
      for (const b of rows) if (b.deadLettered > 0) reasons.set(b.batchId, await this.reasonsOf(b));
      const minutes = rollupByMinute(rows, start, to, (b) => reasons.get(b.batchId) ?? {});
      for (const [minute, r] of minutes) {
        if (giveUp()) return;
        // The current minute is rewritten by the next tick; an empty minute before any batch is worth a row
        // too, so the chart shows zero instead of a gap.
        await this.options.data.writeRollup(job.name, new Date(minute), r);
      }
    }
  }
}
