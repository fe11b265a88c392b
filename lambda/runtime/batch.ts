/**
 * One micro-batch: every partition of the event through the exactly-once protocol, then one progress line,
 * one ledger row and one set of metrics. The Lambda handler and the local runner both call `runMicroBatch`.
 */
import { randomUUID } from 'node:crypto';
import { errorText, RuntimeConfigError } from './errors';
import { MAX_EVENT_TIME_MS } from './windows';
import type { FilterPattern } from '../../config/filters';
import type { MicroBatch } from './event';
import type { Job } from './job';
import {
  noteAppliedOfFailedBatch,
  processPartition,
  type PartitionDeps,
  type PartitionOutcome,
} from './checkpoint';
import { createLogger, logTo, type LogFn } from './log';
import type { BatchMode, CheckpointStore, LedgerEntry, RecordTimestamps, SinkStore } from './store';

export interface BatchDeps {
  readonly checkpoints: CheckpointStore;
  readonly sink: SinkStore;
  /** @default - `() => new Date()` */
  readonly clock?: () => Date;
  /** Where the progress line and warnings go. @default - a Powertools logger, JSON lines on stdout */
  readonly log?: LogFn;
  /** Called with the finished report, e.g. to publish EMF metrics. @default - nothing */
  readonly onReport?: (report: BatchReport) => void | Promise<void>;
  /** @default - a random UUID */
  readonly batchId?: string;
  /** See `PartitionDeps.mode`. @default 'live' */
  readonly mode?: BatchMode;
  /** See `PartitionDeps.filters`: the event source mapping has filter criteria. @default false */
  readonly filters?: boolean;
  /**
   * `redrive`: per `"<topic>-<partition>"`, the offset from which the reader delivered every record Kafka holds
   * (see `PartitionDeps.contiguousFrom`).
   * @default - none
   */
  readonly contiguousFrom?: ReadonlyMap<string, bigint>;
  /** `redrive`: per `"<topic>-<partition>"`, its log start (see `PartitionDeps.logStart`). @default - none */
  readonly logStart?: ReadonlyMap<string, bigint>;
  /** `redrive`: the event source's filter patterns (see `PartitionDeps.matchFilters`). @default - none */
  readonly matchFilters?: readonly FilterPattern[];
  /** See `PartitionDeps.onCommit`. @default - nothing */
  readonly onCommit?: PartitionDeps['onCommit'];
  /**
   * Milliseconds left before the invocation is killed (Lambda's `getRemainingTimeInMillis`). With `filters`,
   * shortly before then the partitions that already committed are noted, as a failure would note them.
   * @default - no deadline: a batch killed after a commit notes nothing
   */
  readonly remainingMs?: () => number;
}

/** How long before the deadline the committed partitions of a batch still running are noted. */
export const DEADLINE_NOTE_MARGIN_MS = 3000;

/** The ledger row of the batch, plus what only the logs and metrics carry. */
export interface BatchReport extends LedgerEntry {
  readonly partitions: readonly PartitionOutcome[];
}

let defaultLog: LogFn | undefined;

export async function runMicroBatch(job: Job, batch: MicroBatch, deps: BatchDeps): Promise<BatchReport> {
  const clock = deps.clock ?? (() => new Date());
  const log = deps.log ?? (defaultLog ??= logTo(createLogger({ serviceName: 'microbatch' })));
  const batchId = deps.batchId ?? randomUUID();
  const startedAt = clock();
  const started = performance.now();

  const foreign = batch.partitions.filter((p) => !job.topics.includes(p.topic));
  if (foreign.length) {
    throw new RuntimeConfigError(
      `Job ${job.name} reads ${job.topics.join(', ')} but the event has records of ${[...new Set(foreign.map((p) => p.topic))].join(', ')}. ` +
        'Point the event source mapping at the job’s own topics.',
    );
  }

  // With filters, what committed must be noted before a failure or the deadline ends the batch (see
  // noteAppliedOfFailedBatch): the partitions that committed so far, as they finish.
  const noting = deps.filters === true && (deps.mode ?? 'live') === 'live' && batch.partitions.length > 1;
  const committedSoFar: PartitionOutcome[] = [];
  const note = (why: string) =>
    noteAppliedOfFailedBatch(job, committedSoFar, { checkpoints: deps.checkpoints, clock, batchId }).catch(
      (error: unknown) =>
        log({
          level: 'WARN',
          message: `could not note the committed partitions of a batch ${why}`,
          batchId,
          error: errorText(error),
        }),
    );
  let deadlineNote: Promise<void> | undefined;
  const deadline =
    noting && deps.remainingMs
      ? setTimeout(
          () => {
            if (committedSoFar.length) deadlineNote = note('near its deadline');
          },
          Math.max(0, deps.remainingMs() - DEADLINE_NOTE_MARGIN_MS),
        )
      : undefined;
  deadline?.unref();

  // Partitions are independent: each has its own checkpoint, so they run side by side. All of them finish
  // before a failure is reported, so none is still running when the event source retries the batch.
  const settled = await Promise.allSettled(
    batch.partitions.map(async (part) => {
      const outcome = await processPartition(job, part, {
        checkpoints: deps.checkpoints,
        sink: deps.sink,
        clock,
        batchId,
        mode: deps.mode,
        filters: deps.filters,
        contiguousFrom: deps.contiguousFrom?.get(`${part.topic}-${part.partition}`),
        logStart: deps.logStart?.get(`${part.topic}-${part.partition}`),
        matchFilters: deps.matchFilters,
        onCommit: deps.onCommit,
        warn: (message, fields) => log({ level: 'WARN', message, batchId, ...fields }),
      });
      committedSoFar.push(outcome);
      return outcome;
    }),
  );
  clearTimeout(deadline);
  await deadlineNote;
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    if (noting && committedSoFar.length) await note('that failed');
    throw failed.reason;
  }
  const partitions = settled.map((s) => (s as PromiseFulfilledResult<PartitionOutcome>).value);

  const sum = (f: (p: PartitionOutcome) => number) => partitions.reduce((n, p) => n + f(p), 0);
  const sumBig = (f: (p: PartitionOutcome) => bigint) => partitions.reduce((n, p) => n + f(p), 0n);
  const watermarks = partitions.map((p) => p.watermarkMs).filter((w): w is number => w !== null);
  // The phases of the partition that took longest: partitions run side by side, so it is the batch's critical
  // path, and its phases add up to about the batch's duration.
  const slowest = partitions.reduce<PartitionOutcome | undefined>(
    (a, p) => (a && phaseTotal(a) >= phaseTotal(p) ? a : p),
    undefined,
  );
  const report: BatchReport = {
    job: job.name,
    batchId,
    mode: deps.mode ?? 'live',
    startedAt,
    durationMs: Math.round(performance.now() - started),
    recordsIn: batch.recordCount,
    written: sum((p) => p.written),
    duplicates: sum((p) => p.duplicates),
    deadLettered: sum((p) => p.deadLettered),
    late: sum((p) => p.late),
    deferred: sum((p) => p.deferred),
    skipped: sumBig((p) => p.skipped),
    filtered: sumBig((p) => p.filtered),
    lost: sumBig((p) => p.lost),
    offsetRanges: partitions.map(({ topic, partition, fromOffset, untilOffset }) => ({
      topic,
      partition,
      fromOffset,
      untilOffset,
    })),
    watermarkMs: watermarks.length ? Math.min(...watermarks) : null,
    recordTimestamps: recordTimestampsOf(batch),
    phases: slowest?.phases ?? { readClaimMs: 0, transformMs: 0, effectsMs: 0, commitMs: 0 },
    partitions,
  };

  log(progressLine(report));
  try {
    await deps.sink.recordBatch(report);
  } catch (error) {
    // The effects and checkpoints are committed; failing now would only make the event source redeliver a
    // batch that is all duplicates. The ledger is a report, so a failure to write it is logged, not thrown.
    log({ level: 'WARN', message: 'could not write the batch ledger row', batchId, error: errorText(error) });
  }
  await deps.onReport?.(report);
  return report;
}

/**
 * The oldest and newest Kafka timestamp of the batch's records. Kafka writes -1 for a record without one (a
 * pre-0.10 message format), and a producer may set any int64: only times from 1970 to the end of a Date's
 * range count.
 */
export function recordTimestampsOf(batch: MicroBatch): RecordTimestamps | null {
  let oldestMs = Infinity;
  let newestMs = -Infinity;
  for (const part of batch.partitions)
    for (const r of part.records) {
      if (!(r.timestamp > 0 && r.timestamp <= MAX_EVENT_TIME_MS)) continue;
      if (r.timestamp < oldestMs) oldestMs = r.timestamp;
      if (r.timestamp > newestMs) newestMs = r.timestamp;
    }
  return newestMs === -Infinity ? null : { oldestMs, newestMs };
}

/**
 * How long the batch's oldest and newest record took from their Kafka timestamps to the batch's end: the
 * oldest's includes its wait in the batching window, the newest's is about the processing delay. A producer
 * whose clock runs ahead (CreateTime) shows as a negative latency, which is left as measured.
 */
export function recordLatencies(
  entry: Pick<LedgerEntry, 'startedAt' | 'durationMs' | 'recordTimestamps'>,
): { oldestMs: number; newestMs: number } | null {
  if (!entry.recordTimestamps) return null;
  const end = entry.startedAt.getTime() + entry.durationMs;
  return { oldestMs: end - entry.recordTimestamps.oldestMs, newestMs: end - entry.recordTimestamps.newestMs };
}

function phaseTotal(p: PartitionOutcome): number {
  return p.phases.readClaimMs + p.phases.transformMs + p.phases.effectsMs + p.phases.commitMs;
}

/** The structured progress line: Spark's offset ranges plus the batch's counts. */
export function progressLine(report: BatchReport): Record<string, unknown> {
  return {
    level: 'INFO',
    message: 'micro-batch',
    job: report.job,
    batchId: report.batchId,
    offsetRanges: report.offsetRanges,
    recordsIn: report.recordsIn,
    written: report.written,
    duplicates: report.duplicates,
    deadLettered: report.deadLettered,
    late: report.late,
    ...(report.mode === 'live' ? {} : { mode: report.mode }),
    ...(report.deferred ? { deferred: report.deferred } : {}),
    ...(report.skipped ? { skipped: report.skipped } : {}),
    ...(report.filtered ? { filtered: report.filtered } : {}),
    ...(report.lost ? { lost: report.lost } : {}),
    durationMs: report.durationMs,
    phases: report.phases,
    // A watermark outside a Date's range cannot come from a checked event time; were it there, the line (and
    // the batch) must not fail on it.
    watermark:
      report.watermarkMs === null || !Number.isFinite(new Date(report.watermarkMs).getTime())
        ? null
        : new Date(report.watermarkMs).toISOString(),
  };
}
