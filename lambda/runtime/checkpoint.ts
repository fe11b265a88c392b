/**
 * Exactly-once effects for one (job, topic, partition).
 *
 * ## The invariant
 * For every (job, topic, partition), the sink reflects the effect of each offset exactly once, whatever
 * happens: redelivered or overlapping batches, a crash between two writes, restarts, and two invocations that
 * see the same partition at the same time.
 *
 * ## The protocol
 * The checkpoint row holds `next_offset` (last applied + 1), the partition's watermark at that offset, and at
 * most one open *claim*: `(claim_id, claim_until, claim_time)`, which pins the processing time of the offsets
 * `[next_offset, claim_until)`. Every change to the row is a compare-and-set (LWT) on
 * `(next_offset, claim_id)`; every read of it is SERIAL.
 *
 * For a partition's records `R` (sorted, `end` = last offset + 1), loop:
 * 1. Read the checkpoint `C`. None: create it at `R`'s first offset (IF NOT EXISTS), then re-read.
 * 2. `C.next >= end`: every record is already applied; count them as duplicates and stop.
 * 3. `R` starts above `C.next`: the records in between were never applied (retention, or a batch the event
 *    source gave up on). Fail with `DataLossError` if `failOnDataLoss`, else CAS `next` up to the first offset
 *    and count the gap as lost.
 * 4. No open claim: CAS one in, `[C.next, end)` with `time = now`. An open claim is used as it is, whoever
 *    made it: its time is the one every attempt at those offsets must use.
 * 5. Compute the effects of the records in `[C.next, min(claim_until, end))`. They are a pure function of the
 *    records, the claim time and the stored watermark, so every attempt at the same offsets computes the same
 *    rows, and a repeated upsert of them changes nothing.
 * 6. Write them. A window partial is a compare-and-set on its `covered_offset` (the last offset folded into
 *    it): read it, fold only the readings above that offset, write only if it still covers what was read, and
 *    otherwise read again. So a partial never folds a reading twice and a stale partial never overwrites a
 *    newer one. (Not write timestamps: Keyspaces accepts client timestamps only near the current time.)
 * 7. CAS the checkpoint from `(C.next, claim_id)` to `(stop, watermark)`, closing the claim when `stop` reaches
 *    it. If the CAS fails, someone else moved the checkpoint: go to 1.
 *
 * ## Why it holds
 * - *Same batch twice, overlapping batches:* records below `C.next` are skipped (step 2 and the filter in 5).
 * - *Crash after the effects, before the checkpoint:* the claim is still open, so the retry recomputes the
 *   same rows with the same claim time and upserts them again: no visible change. Its window partials find
 *   their readings already covered and fold nothing.
 * - *Crash in the middle of the effects:* the same; the rewrite completes the half-written set.
 * - *Crash after the claim, before any effect:* the retry finds the claim and uses its time.
 * - *Two invocations at once:* only one claim can be CASed in over a given `next`; the other reads it and uses
 *   the same time, so both write the same rows. Only one commit CAS over `(C.next, claim_id)` can succeed; the
 *   loser re-reads and finds its records below `next` (or continues after them). Window partials are
 *   compare-and-set on their covered offset, which only grows: of two writers folding the same readings, the
 *   second finds them covered.
 * - *Effects never diverge from the checkpoint:* effects are written before the checkpoint moves, and any
 *   effect written without its checkpoint is rewritten identically by the next attempt (the claim stays open
 *   until the checkpoint passes it).
 * - *Late records:* lateness is decided by the running watermark over the offset sequence, stored with the
 *   checkpoint, so a replay decides it the same way whatever the batch boundaries.
 *
 * Keyspaces supports the lightweight transactions this needs.
 * https://docs.aws.amazon.com/keyspaces/latest/devguide/functional-differences.html#functional-differences.light-transactions
 */
import { DataLossError, ContentionError, RecordError, SinkError } from './errors';
import type { KafkaRecord, PartitionRecords } from './event';
import type { Job, WindowJob, TransformJob } from './job';
import {
  partialId,
  type Checkpoint,
  type CheckpointStore,
  type Claim,
  type PartialKey,
  type PartitionRef,
  type SinkStore,
  type SinkWrite,
} from './store';
import { DEAD_LETTERS } from '../../schema';
import {
  addReading,
  advanceWatermark,
  isLate,
  windowSpecId,
  windowStartsFor,
  type StatsPartial,
} from './windows';

export interface PartitionDeps {
  readonly checkpoints: CheckpointStore;
  readonly sink: SinkStore;
  readonly clock: () => Date;
  readonly batchId: string;
  readonly warn: (message: string, fields: Record<string, unknown>) => void;
  /** @default - 50 attempts at the checkpoint before the batch fails with a retriable ContentionError. */
  readonly maxAttempts?: number;
  /**
   * What a batch that starts above the checkpoint means. `lost` (the event source's own batches): the records
   * in between are gone; count them and move on (or fail, with `failOnDataLoss`). `defer` (a replay, which may
   * start anywhere): the job's own consumer has not got there yet; apply nothing and move nothing.
   * @default 'lost'
   */
  readonly aheadOfCheckpoint?: 'lost' | 'defer';
}

export interface PartitionOutcome {
  readonly topic: string;
  readonly partition: number;
  /** The event's range for this partition, Spark style: `untilOffset` is exclusive. */
  readonly fromOffset: bigint;
  readonly untilOffset: bigint;
  /** Records whose effects this invocation committed (dead letters included). */
  readonly applied: number;
  /** Records whose effects were rows in the sink. */
  readonly written: number;
  /** Records already applied before this invocation committed them. */
  readonly duplicates: number;
  readonly deadLettered: number;
  readonly late: number;
  /** Offsets lost below the batch (gap to the checkpoint). */
  readonly lost: bigint;
  /** Records left to the job's own consumer because this (replay) batch was ahead of the checkpoint. */
  readonly deferred: number;
  readonly watermarkMs: number | null;
}

interface Effects {
  readonly writes: SinkWrite[];
  /** Window jobs: the readings to fold, per partial. */
  readonly partials?: ReadonlyMap<string, PartialReadings>;
  readonly written: number;
  readonly deadLettered: number;
  readonly late: number;
  readonly watermarkMs: number | null;
}

export async function processPartition(
  job: Job,
  part: PartitionRecords,
  deps: PartitionDeps,
): Promise<PartitionOutcome> {
  const ref: PartitionRef = { job: job.name, topic: part.topic, partition: part.partition };
  const records = part.records;
  const first = records[0]!.offset;
  const end = records[records.length - 1]!.offset + 1n;
  let applied = 0;
  let written = 0;
  let deadLettered = 0;
  let late = 0;
  let lost = 0n;
  let deferred = 0;
  let watermarkMs: number | null = null;
  const maxAttempts = deps.maxAttempts ?? 50;

  const outcome = (): PartitionOutcome => ({
    topic: part.topic,
    partition: part.partition,
    fromOffset: first,
    untilOffset: end,
    applied,
    written,
    duplicates: records.length - applied - deferred,
    deadLettered,
    late,
    lost,
    deferred,
    watermarkMs,
  });

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const checkpoint = await deps.checkpoints.read(ref);
    if (!checkpoint) {
      await deps.checkpoints.create(ref, { nextOffset: first, watermarkMs: null, claim: null });
      continue;
    }
    watermarkMs = checkpoint.watermarkMs;
    if (checkpoint.nextOffset >= end) return outcome();

    const firstPending = records.find((r) => r.offset >= checkpoint.nextOffset)!.offset;
    if (records[0]!.offset > checkpoint.nextOffset) {
      if (deps.aheadOfCheckpoint === 'defer') {
        // A replay ahead of the job's own consumer: those offsets are not lost, just not reached yet.
        deferred = records.length;
        deps.warn('replay is ahead of the checkpoint; leaving these records to the job’s own consumer', {
          job: job.name,
          topic: part.topic,
          partition: part.partition,
          checkpoint: checkpoint.nextOffset.toString(),
          firstOffset: first.toString(),
        });
        return outcome();
      }
      // Nothing in this batch covers [next, first): those offsets are gone.
      const gap = first - checkpoint.nextOffset;
      if (job.failOnDataLoss)
        throw new DataLossError(part.topic, part.partition, checkpoint.nextOffset, first);
      deps.warn('offsets lost below the batch; going on (failOnDataLoss=false)', {
        job: job.name,
        topic: part.topic,
        partition: part.partition,
        expectedOffset: checkpoint.nextOffset.toString(),
        firstOffset: first.toString(),
        lost: gap.toString(),
      });
      const claim = checkpoint.claim && checkpoint.claim.until > first ? checkpoint.claim : null;
      if (await cas(deps, ref, checkpoint, { nextOffset: first, watermarkMs: checkpoint.watermarkMs, claim }))
        lost += gap;
      continue;
    }

    let claim: Claim | null = checkpoint.claim;
    if (!claim) {
      claim = { id: deps.batchId, until: end, time: deps.clock() };
      if (!(await cas(deps, ref, checkpoint, { ...checkpoint, claim }))) continue;
    }

    const stop = claim.until < end ? claim.until : end;
    const pending = records.filter((r) => r.offset >= firstPending && r.offset < stop);
    const effects =
      job.kind === 'transform'
        ? transformEffects(job, pending, claim.time, checkpoint.watermarkMs)
        : windowEffects(job, pending, checkpoint.watermarkMs);

    // Records whose effects the sink refused for good. They must not block the partition: they go to the
    // dead letters. A refused dead letter is different: there is nowhere left to put it, so the batch fails.
    const refused = new Map<bigint, SinkError>();
    for (const { write, error } of await deps.sink.write(effects.writes)) {
      if (write.table === DEAD_LETTERS) {
        throw new SinkError(`The dead-letter table refused a write: ${error.message}`, false, {
          cause: error,
        });
      }
      refused.set(write.offset, error);
    }
    if (job.kind === 'window' && effects.partials) {
      for (const [offset, error] of (await applyPartials(job, part, effects.partials, deps.sink)).refused)
        refused.set(offset, error);
    }
    if (refused.size) {
      const byOffset = new Map(pending.map((r) => [r.offset, r]));
      const letters = [...refused].map(([offset, error]) =>
        deadLetterWrite(
          job.name,
          byOffset.get(offset)!,
          new RecordError('sink-rejected', error.message, { cause: error }),
        ),
      );
      const failedAgain = await deps.sink.write(letters);
      if (failedAgain.length) {
        throw new SinkError(
          `The dead-letter table refused a write: ${failedAgain[0]!.error.message}`,
          false,
          {
            cause: failedAgain[0]!.error,
          },
        );
      }
    }
    const sinkDeadLetters = refused.size;

    const next: Checkpoint = {
      nextOffset: stop,
      watermarkMs: effects.watermarkMs,
      claim: stop < claim.until ? claim : null,
    };
    if (await cas(deps, ref, { ...checkpoint, claim }, next)) {
      applied += pending.length;
      written += effects.written - sinkDeadLetters;
      deadLettered += effects.deadLettered + sinkDeadLetters;
      late += effects.late;
      watermarkMs = effects.watermarkMs;
      if (stop >= end) return outcome();
    }
  }
  throw new ContentionError(
    `Gave up on ${part.topic}-${part.partition} for job ${job.name} after ${maxAttempts} attempts at the checkpoint: ` +
      'other invocations kept moving it. The event source will retry the batch.',
  );
}

function cas(
  deps: PartitionDeps,
  ref: PartitionRef,
  expected: Checkpoint,
  next: Checkpoint,
): Promise<boolean> {
  return deps.checkpoints.compareAndSet(
    ref,
    { nextOffset: expected.nextOffset, claimId: expected.claim?.id ?? null },
    next,
  );
}

/**
 * The most of a payload a dead letter keeps, in raw bytes. Keyspaces rows are at most 1 MB and base64 adds a
 * third, so an oversized record's dead letter would itself be refused, and block its partition, if it kept
 * everything. The full record stays in Kafka at the topic, partition and offset the row names.
 * https://docs.aws.amazon.com/keyspaces/latest/devguide/quotas.html
 */
export const DEAD_LETTER_MAX_PAYLOAD_BYTES = 256 * 1024;

function keptPayload(bytes: Buffer | null): { b64: string | null; note: string } {
  if (bytes === null) return { b64: null, note: '' };
  if (bytes.length <= DEAD_LETTER_MAX_PAYLOAD_BYTES) return { b64: bytes.toString('base64'), note: '' };
  return {
    b64: bytes.subarray(0, DEAD_LETTER_MAX_PAYLOAD_BYTES).toString('base64'),
    note: ` (payload cut to its first ${DEAD_LETTER_MAX_PAYLOAD_BYTES} of ${bytes.length} bytes; the whole record is in Kafka at this offset)`,
  };
}

export function deadLetterWrite(job: string, record: KafkaRecord, error: RecordError): SinkWrite {
  const key = keptPayload(record.key);
  const value = keptPayload(record.value);
  return {
    table: DEAD_LETTERS,
    offset: record.offset,
    values: {
      job,
      topic: record.topic,
      kafka_partition: record.partition,
      kafka_offset: record.offset,
      reason: error.reason,
      detail: `${error.message}${key.note}${value.note}`,
      key_b64: key.b64,
      value_b64: value.b64,
      record_timestamp: new Date(record.timestamp),
    },
  };
}

function asRecordError(error: unknown): RecordError {
  if (error instanceof RecordError) return error;
  throw error;
}

function transformEffects<T>(
  job: TransformJob<T>,
  records: readonly KafkaRecord[],
  processingTime: Date,
  watermarkMs: number | null,
): Effects {
  const writes: SinkWrite[] = [];
  let written = 0;
  let deadLettered = 0;
  for (const record of records) {
    try {
      const rows = job.transform(job.decoder.decode(record), { record, processingTime });
      for (const row of rows) {
        writes.push({ table: row.table, values: row.values, offset: record.offset });
      }
      written++;
    } catch (error) {
      writes.push(deadLetterWrite(job.name, record, asRecordError(error)));
      deadLettered++;
    }
  }
  return { writes, written, deadLettered, late: 0, watermarkMs };
}

interface Reading {
  readonly offset: bigint;
  readonly value: number;
}

interface PartialReadings {
  readonly key: PartialKey;
  readonly readings: Reading[];
}

function windowEffects<T>(
  job: WindowJob<T>,
  records: readonly KafkaRecord[],
  startWatermarkMs: number | null,
): Effects {
  const writes: SinkWrite[] = [];
  const partials = new Map<string, PartialReadings>();
  let watermarkMs = startWatermarkMs;
  let written = 0;
  let deadLettered = 0;
  let late = 0;
  for (const record of records) {
    let eventTime: number;
    let key: string;
    let measure: number;
    try {
      const value = job.decoder.decode(record);
      eventTime = job.eventTime(value);
      key = job.key(value);
      measure = job.measure(value);
    } catch (error) {
      writes.push(deadLetterWrite(job.name, record, asRecordError(error)));
      deadLettered++;
      continue;
    }
    if (isLate(watermarkMs, eventTime)) {
      const error = new RecordError(
        'late',
        `Event time ${new Date(eventTime).toISOString()} is behind the watermark ${new Date(watermarkMs!).toISOString()} ` +
          `(allowed lateness ${job.allowedLatenessMs} ms).`,
      );
      writes.push(deadLetterWrite(job.name, record, error));
      deadLettered++;
      late++;
      continue;
    }
    watermarkMs = advanceWatermark(watermarkMs, eventTime, job.allowedLatenessMs);
    for (const windowStart of windowStartsFor(eventTime, job.window)) {
      const partialKey = { key, windowStart };
      const id = partialId(partialKey);
      let entry = partials.get(id);
      if (!entry) partials.set(id, (entry = { key: partialKey, readings: [] }));
      entry.readings.push({ offset: record.offset, value: measure });
    }
    written++;
  }
  return { writes, partials, written, deadLettered, late, watermarkMs };
}

/**
 * Folds the readings into their stored partials by compare-and-set on `covered_offset`: read, fold only the
 * readings above the covered offset, write if the partial still covers what was read, else read again.
 * Returns the offsets of readings whose partial the sink refused for good, to dead-letter them.
 */
async function applyPartials<T>(
  job: WindowJob<T>,
  part: PartitionRecords,
  partials: ReadonlyMap<string, PartialReadings>,
  sink: SinkStore,
  maxAttempts = 20,
): Promise<{ refused: Map<bigint, SinkError> }> {
  const spec = windowSpecId(job.window);
  const refused = new Map<bigint, SinkError>();
  let pending = [...partials.entries()];
  for (let attempt = 1; pending.length; attempt++) {
    if (attempt > maxAttempts) {
      throw new ContentionError(
        `Gave up folding ${pending.length} window partial(s) of ${part.topic}-${part.partition} for job ${job.name}: ` +
          'other invocations kept changing them. The event source will retry the batch.',
      );
    }
    const stored = await sink.readPartials(
      job.table,
      spec,
      part.topic,
      part.partition,
      pending.map(([, e]) => e.key),
    );
    const lost = await Promise.all(
      pending.map(async ([id, entry]): Promise<[string, PartialReadings] | undefined> => {
        const before = stored.get(id);
        let partial: StatsPartial | undefined = before;
        let covered = before?.coveredOffset ?? -1n;
        for (const reading of entry.readings) {
          // At or below the covered offset: already in the partial (an earlier or concurrent attempt wrote it).
          if (reading.offset <= covered) continue;
          partial = addReading(partial, reading.value);
          covered = reading.offset;
        }
        if (!partial || covered === (before?.coveredOffset ?? -1n)) return undefined;
        const row = {
          sensor_id: entry.key.key,
          window_spec: spec,
          window_start: new Date(entry.key.windowStart),
          topic: part.topic,
          kafka_partition: part.partition,
          window_end: new Date(entry.key.windowStart + job.window.sizeMs),
          reading_count: BigInt(partial.count),
          value_sum: partial.sum,
          value_min: partial.min,
          value_max: partial.max,
          covered_offset: covered,
        };
        try {
          return (await sink.compareAndSetPartial(job.table, row, before?.coveredOffset ?? null))
            ? undefined
            : [id, entry];
        } catch (error) {
          if (!(error instanceof SinkError) || error.retriable) throw error;
          // Refused for good: every reading it would have folded goes to the dead letters instead.
          for (const reading of entry.readings)
            if (reading.offset > (before?.coveredOffset ?? -1n)) refused.set(reading.offset, error);
          return undefined;
        }
      }),
    );
    pending = lost.filter((e): e is [string, PartialReadings] => e !== undefined);
  }
  return { refused };
}
