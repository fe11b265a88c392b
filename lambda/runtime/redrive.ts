/**
 * Redrive: re-applies, exactly once, the offsets the event source skipped. The same code runs locally
 * (`microbatch redrive <job>`, reading `.local/on-failure/`) and in the cloud (the redrive function, reading the
 * on-failure queue):
 * 1. Each on-failure record names the offsets the event source gave up on; `registerFromOnFailure` makes sure a
 *    skipped range covers them (most are registered already, by the live job's next batch).
 * 2. Every pending skipped range is read back from Kafka, contiguously from its cursor, and applied through the
 *    job's handler in `redrive` mode: the checkpoint protocol applies what the failed attempts did not, rewrites
 *    identically what they did, and counts as lost what Kafka no longer has (see checkpoint.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import {
  passRecordlessOffsets,
  registerFromOnFailure,
  type FailedRange,
  type FailedRangeOutcome,
} from './checkpoint';
import { fromKafkaMessage, type KafkaRecord } from './event';
import type { Job } from './job';
import type { CheckpointStore, SkippedRange } from './store';
import type { BatchDeps } from './batch';

/** An on-failure record that is not the shape Lambda sends for a Kafka event source. */
export class OnFailureRecordError extends Error {
  override readonly name = 'OnFailureRecordError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`Malformed on-failure record at ${path}: ${problem}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const OFFSET = /^\d+$/;

/**
 * The failed ranges of one on-failure record, as Lambda sends it to an SQS or SNS destination for a Kafka event
 * source: `KafkaBatchInfo.recordsInfo` is keyed `"<topic>-<partition>"`, each with its first and last offset.
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html
 */
export function parseOnFailureRecord(value: unknown): FailedRange[] {
  if (!isObject(value)) throw new OnFailureRecordError('$', 'expected a JSON object');
  const context = value.requestContext;
  if (!isObject(context) || typeof context.condition !== 'string') {
    throw new OnFailureRecordError(
      '$.requestContext.condition',
      'expected a string such as RetryAttemptsExhausted',
    );
  }
  const info = value.KafkaBatchInfo;
  if (!isObject(info) || !isObject(info.recordsInfo)) {
    throw new OnFailureRecordError(
      '$.KafkaBatchInfo.recordsInfo',
      'expected an object keyed "<topic>-<partition>"',
    );
  }
  const record = JSON.stringify(value);
  return Object.entries(info.recordsInfo).map(([key, range]) => {
    const path = `$.KafkaBatchInfo.recordsInfo[${JSON.stringify(key)}]`;
    const dash = key.lastIndexOf('-');
    const partition = Number(key.slice(dash + 1));
    if (dash <= 0 || !/^\d+$/.test(key.slice(dash + 1))) {
      throw new OnFailureRecordError(path, 'expected a key of the form "<topic>-<partition>"');
    }
    if (
      !isObject(range) ||
      typeof range.firstRecordOffset !== 'string' ||
      !OFFSET.test(range.firstRecordOffset)
    ) {
      throw new OnFailureRecordError(`${path}.firstRecordOffset`, 'expected an offset as a decimal string');
    }
    if (typeof range.lastRecordOffset !== 'string' || !OFFSET.test(range.lastRecordOffset)) {
      throw new OnFailureRecordError(`${path}.lastRecordOffset`, 'expected an offset as a decimal string');
    }
    const firstOffset = BigInt(range.firstRecordOffset);
    const lastOffset = BigInt(range.lastRecordOffset);
    if (lastOffset < firstOffset) {
      throw new OnFailureRecordError(
        `${path}.lastRecordOffset`,
        `is below firstRecordOffset (${firstOffset})`,
      );
    }
    return {
      topic: key.slice(0, dash),
      partition,
      firstOffset,
      lastOffset,
      condition: context.condition as string,
      record,
    };
  });
}

/**
 * How far a contiguous read of a partition has got: every record Kafka delivers below `readUpTo` has been handed
 * over (control records, which it never delivers, included in the distance), and `logStart` was the partition's
 * log start when the read began.
 */
export interface ReadPosition {
  readonly readUpTo: bigint;
  readonly logStart: bigint;
}

/**
 * Reads `[from, until)` of each listed partition of a topic, in offset order per partition, with the position
 * reached after each run of records (also after a fetch that had none to deliver, only control records).
 */
export type RangeReader = (
  topic: string,
  ranges: ReadonlyMap<number, { readonly from: bigint; readonly until: bigint }>,
  onRecords: (partition: number, records: KafkaRecord[], position: ReadPosition) => Promise<void>,
) => Promise<void>;

export interface RedriveDeps {
  readonly checkpoints: CheckpointStore;
  /** The partitions of a topic. */
  readonly partitions: (topic: string) => Promise<number[]>;
  readonly read: RangeReader;
  /**
   * Applies records of one partition through the job's handler in `redrive` mode; `contiguousFrom` is where the
   * reader started that partition, `logStart` its log start then (`BatchDeps.logStart`), and `onCommit` is the
   * batch's `BatchDeps.onCommit`.
   */
  readonly apply: (
    records: KafkaRecord[],
    contiguousFrom: bigint,
    onCommit: NonNullable<BatchDeps['onCommit']>,
    logStart: bigint,
  ) => Promise<unknown>;
  readonly clock?: () => Date;
  /** The event source mapping has filter criteria (see `registerFromOnFailure`). @default false */
  readonly filters?: boolean;
  /** @default - 500 records per batch */
  readonly batchSize?: number;
  readonly log?: (line: Record<string, unknown>) => void;
}

export interface RegisteredFailure {
  readonly failed: FailedRange;
  readonly outcome: FailedRangeOutcome;
}

/** Registers the ranges of on-failure records (step 1). */
export async function registerFailures(
  job: Job,
  failures: readonly FailedRange[],
  deps: Pick<RedriveDeps, 'checkpoints' | 'clock' | 'filters'>,
): Promise<RegisteredFailure[]> {
  const batchId = `redrive-${randomUUID()}`;
  const out: RegisteredFailure[] = [];
  for (const failed of failures) {
    out.push({
      failed,
      outcome: await registerFromOnFailure(job, failed, {
        checkpoints: deps.checkpoints,
        clock: deps.clock ?? (() => new Date()),
        batchId,
        filters: deps.filters,
      }),
    });
  }
  return out;
}

export interface PartitionRanges {
  readonly topic: string;
  readonly partition: number;
  readonly ranges: readonly SkippedRange[];
}

/** Every skipped range of the job, per partition (pending and finished). */
export async function skippedRanges(
  job: Job,
  deps: Pick<RedriveDeps, 'checkpoints' | 'partitions'>,
): Promise<PartitionRanges[]> {
  const out: PartitionRanges[] = [];
  for (const topic of job.topics) {
    for (const partition of await deps.partitions(topic)) {
      const ranges = await deps.checkpoints.listSkipped({ job: job.name, topic, partition });
      if (ranges.length) out.push({ topic, partition, ranges });
    }
  }
  return out;
}

export interface RedriveSummary {
  /** Ranges that were pending before the redrive. */
  readonly attempted: number;
  /** Of those, the ones still pending (their start was not read, or a batch kept failing). */
  readonly stillPending: readonly (SkippedRange & { topic: string; partition: number })[];
  readonly redrivenRecords: number;
  readonly lost: bigint;
}

/**
 * Reads every pending skipped range back and applies it (step 2). Each partition is read once, from the lowest
 * pending cursor to the highest range end; records between ranges are already applied and come back as
 * duplicates. A batch that fails is retried with backoff; if it keeps failing the error is thrown, and its
 * range stays pending for the next redrive.
 */
export async function redrivePending(job: Job, deps: RedriveDeps): Promise<RedriveSummary> {
  const before = await skippedRanges(job, deps);
  const batchSize = deps.batchSize ?? 500;
  let attempted = 0;
  // What this redrive's own batches committed, even those that failed after a commit and were tried again. Not
  // what the ranges' totals gained meanwhile: a second redrive, or a replay, applying the same ranges at the same
  // time moves them too, and each run reported the other's records as its own.
  let redrivenRecords = 0;
  let lost = 0n;
  const onCommit = (commit: { applied: number; lost: bigint }) => {
    redrivenRecords += commit.applied;
    lost += commit.lost;
  };
  for (const topic of job.topics) {
    const reads = new Map<number, { from: bigint; until: bigint }>();
    for (const { partition, ranges } of before.filter((p) => p.topic === topic)) {
      const pending = ranges.filter((r) => r.status === 'pending');
      if (!pending.length) continue;
      attempted += pending.length;
      reads.set(partition, {
        from: pending.reduce(
          (m, r) => (r.cursor.nextOffset < m ? r.cursor.nextOffset : m),
          pending[0]!.cursor.nextOffset,
        ),
        until: pending.reduce((m, r) => (r.untilOffset > m ? r.untilOffset : m), 0n),
      });
    }
    if (!reads.size) continue;
    deps.log?.({
      level: 'INFO',
      message: 'redriving skipped ranges',
      job: job.name,
      topic,
      partitions: Object.fromEntries([...reads].map(([p, r]) => [p, `[${r.from}, ${r.until})`])),
    });
    await deps.read(topic, reads, async (partition, records, { readUpTo, logStart }) => {
      const from = reads.get(partition)!.from;
      for (let i = 0; i < records.length; i += batchSize) {
        await withBackoff(() => deps.apply(records.slice(i, i + batchSize), from, onCommit, logStart));
      }
      // What the read passed with no record to apply (a transaction's markers, aborted records) moves the ranges'
      // cursors too, or a range that ends in them would stay pending for ever.
      await withBackoff(() =>
        passRecordlessOffsets(
          job,
          topic,
          partition,
          { from, upTo: readUpTo, logStart },
          { checkpoints: deps.checkpoints, clock: deps.clock ?? (() => new Date()), onCommit },
        ),
      );
    });
  }
  const after = await skippedRanges(job, deps);
  const stillPending = after.flatMap(({ topic, partition, ranges }) =>
    ranges.filter((r) => r.status === 'pending').map((r) => ({ ...r, topic, partition })),
  );
  return { attempted, stillPending, redrivenRecords, lost };
}

async function withBackoff(fn: () => Promise<unknown>, attempts = 4): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return;
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(8000, 500 * 2 ** (attempt - 1))));
    }
  }
}

/**
 * Reads ranges of one topic with kafkajs: a consumer group of the reader's own (`groupId()` for each read), set
 * to each range's start (a partition with no range starts at its end), fed until every range is read, and
 * deleted after unless `deleteGroup` is false (a fixed group whose IAM grant names it exactly). A start below the
 * log's beginning (retention) resets to the earliest offset, so the protocol sees the gap and counts it lost.
 */
export function kafkaRangeReader(
  kafka: Kafka,
  groupId: () => string,
  options: { readonly deleteGroup?: boolean } = {},
): RangeReader {
  return async (topic, ranges, onRecords) => {
    const group = groupId();
    const admin = kafka.admin();
    await admin.connect();
    const consumer = kafka.consumer({ groupId: group, maxBytesPerPartition: 1024 * 1024 });
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      const open = new Set<number>();
      await admin.setOffsets({
        groupId: group,
        topic,
        partitions: offsets.map((p) => {
          const range = ranges.get(p.partition);
          const high = BigInt(p.high);
          // Nothing to read where the range starts at or past the end of the log.
          if (range && range.from < high && range.from < range.until) open.add(p.partition);
          return {
            partition: p.partition,
            offset: (range && range.from < high ? range.from : high).toString(),
          };
        }),
      });
      if (!open.size) return;
      let settle!: (error?: unknown) => void;
      const done = new Promise<void>((resolve, reject) => {
        settle = (error) => (error === undefined ? resolve() : reject(error));
      });
      const logStart = new Map(offsets.map((p) => [p.partition, BigInt(p.low)]));
      // Once a run of records failed, nothing more is handed over: kafkajs may deliver the partition's next
      // fetch before the consumer is disconnected, and records past a gap would be decided as if the failed
      // ones did not exist (a redrive counts such a gap as lost).
      let failed = false;
      // One step at a time, in fetch order: eachBatch and the event below both hand runs over.
      let steps = Promise.resolve();
      const step = (
        partition: number,
        messages: readonly KafkaMessage[],
        lastOffset: string,
        highWatermark: string,
      ): Promise<void> =>
        (steps = steps.then(async () => {
          if (failed || !open.has(partition)) return;
          const range = ranges.get(partition)!;
          const records: KafkaRecord[] = [];
          for (const m of messages) {
            if (BigInt(m.offset) >= range.until) break;
            records.push(fromKafkaMessage(topic, partition, m));
          }
          // Read through when the fetch reached the range's end, or the log's end (everything up to it was
          // delivered). Control records count in the distance: they take offsets but are never delivered.
          const next = BigInt(lastOffset) + 1n;
          const readThrough = next >= range.until || next >= BigInt(highWatermark);
          try {
            await onRecords(partition, records, {
              readUpTo: next < range.until ? next : range.until,
              logStart: logStart.get(partition) ?? 0n,
            });
          } catch (error) {
            failed = true;
            settle(error);
            return;
          }
          if (readThrough) {
            open.delete(partition);
            if (!open.size) settle();
          }
        }));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      // A fetch of control records only (a transaction's marker, or its aborted records) reaches no eachBatch:
      // kafkajs reports it with this event alone, and a range that ends in one is read through by it.
      consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => {
        if (payload.batchSize === 0 && payload.topic === topic)
          void step(payload.partition, [], payload.lastOffset, payload.highWatermark);
      });
      await consumer.run({
        autoCommit: false,
        eachBatch: ({ batch }) =>
          step(batch.partition, batch.messages, batch.lastOffset(), batch.highWatermark),
      });
      await done;
    } finally {
      await consumer.disconnect().catch(() => undefined);
      if (options.deleteGroup !== false) await admin.deleteGroups([group]).catch(() => undefined);
      await admin.disconnect();
    }
  };
}
