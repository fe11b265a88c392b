/**
 * The effects of a run of records: rows and dead letters for a transform job, readings folded into window
 * partials for a window job. Computing them is pure (the same records, claim time and watermark give the same
 * effects on every attempt); writing them is idempotent (plain upserts, and compare-and-set on each partial's
 * covered offset). `checkpoint.ts` decides which records to apply and when; this module applies them.
 */
import { DEAD_LETTERS, windowKeyColumn } from '../../schema';
import { ContentionError, RecordError, SinkError } from './errors';
import type { KafkaRecord } from './event';
import type { Job, TransformJob, WindowJob } from './job';
import { SchemaViolation } from './decoders';
import { checkedRow } from './rows';
import { partialId, type PartialKey, type PartialLane, type SinkStore, type SinkWrite } from './store';
import {
  addReading,
  advanceWatermark,
  isLate,
  MAX_EVENT_TIME_MS,
  MAX_MEASURE,
  windowSpecId,
  windowStartsFor,
  type StatsPartial,
} from './windows';

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

/** The timestamp Kafka gives a record that has none (`RecordBatch.NO_TIMESTAMP`). */
const NO_TIMESTAMP = -1;

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
      // Kafka's timestamps are any int64 a producer sets; one past a Date's range is kept as unknown rather
      // than refused by the driver, which would fail the batch on every retry. -1 is Kafka's NO_TIMESTAMP (a
      // record of a pre-0.10 message format), not 1969's last millisecond.
      // https://kafka.apache.org/documentation/#messageformat
      record_timestamp:
        record.timestamp !== NO_TIMESTAMP && Math.abs(record.timestamp) <= MAX_EVENT_TIME_MS
          ? new Date(record.timestamp)
          : null,
    },
  };
}

/**
 * An event time the watermark, the window arithmetic and the partials' timestamps can all hold: integer epoch
 * milliseconds within a Date's range. A record whose time is not one is dead-lettered ('schema'): let through, a
 * NaN or a time past the range failed the whole batch, on every retry, far from the record that caused it.
 */
function checkedEventTime(
  eventTime: number,
  job: Pick<WindowJob<unknown>, 'window' | 'allowedLatenessMs'>,
): number {
  // Not the time alone: its windows' ends (up to a window size later) and the watermark it sets (the allowed
  // lateness earlier) are Dates too, and one past the range would fail every retry of the batch.
  const limit = MAX_EVENT_TIME_MS - job.window.sizeMs - job.allowedLatenessMs;
  if (Number.isSafeInteger(eventTime) && Math.abs(eventTime) <= limit) return eventTime;
  throw new RecordError(
    'schema',
    `The job's event time is ${eventTime}: expected integer epoch milliseconds at most ${limit} in absolute ` +
      "value (a Date's range, less the job's window size and allowed lateness).",
  );
}

/**
 * A record's own failure, to dead-letter; anything else fails the batch. A `SchemaViolation` is the record's
 * wherever the job throws it (its decoder, transform, key, event time or measure), not only in `json()`.
 */
function asRecordError(error: unknown): RecordError {
  if (error instanceof RecordError) return error;
  if (error instanceof SchemaViolation) return new RecordError('schema', error.message, { cause: error });
  throw error;
}

interface Reading {
  readonly offset: bigint;
  readonly value: number;
}

export interface PartialReadings {
  readonly key: PartialKey;
  readonly readings: Reading[];
}

export interface Effects {
  readonly writes: SinkWrite[];
  /** Window jobs: the readings to fold, per partial. */
  readonly partials?: ReadonlyMap<string, PartialReadings>;
  readonly written: number;
  readonly deadLettered: number;
  readonly late: number;
  readonly watermarkMs: number | null;
}

/** The effects of `records` (sorted by offset) under a claim time and the watermark in force before them. */
export function computeEffects(
  job: Job,
  records: readonly KafkaRecord[],
  processingTime: Date,
  watermarkMs: number | null,
): Effects {
  return job.kind === 'transform'
    ? transformEffects(job, records, processingTime, watermarkMs)
    : windowEffects(job, records, watermarkMs);
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
      // Every row is checked before any is kept: a record dead-lettered by its second row leaves no first one.
      const rows = job
        .transform(job.decoder.decode(record), { record, processingTime })
        .map((row) => checkedRow(job, row));
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
      eventTime = checkedEventTime(job.eventTime(value), job);
      key = job.key(value);
      if (typeof key !== 'string' || key === '')
        throw new RecordError(
          'schema',
          `The job's key is ${JSON.stringify(key) ?? String(key)}: expected a non-empty string.`,
        );
      measure = job.measure(value);
      if (!Number.isFinite(measure) || Math.abs(measure) > MAX_MEASURE)
        throw new RecordError(
          'schema',
          `The job's measure is ${measure}: expected a finite number at most ${MAX_MEASURE} in absolute value, ` +
            "so that a window's sum cannot overflow to Infinity.",
        );
    } catch (error) {
      writes.push(deadLetterWrite(job.name, record, asRecordError(error)));
      deadLettered++;
      continue;
    }
    // Checked before the watermark moves: a record whose clock ran far ahead must not make the rest late.
    if (
      job.maxEventTimeAheadMs !== undefined &&
      // Kafka's timestamps are -1 (none) or from 0 on; one past a Date's range cannot be ahead of an event time.
      record.timestamp >= 0 &&
      eventTime - record.timestamp > job.maxEventTimeAheadMs
    ) {
      const error = new RecordError(
        'future',
        `Event time ${new Date(eventTime).toISOString()} is ${eventTime - record.timestamp} ms ahead of the ` +
          `record's Kafka timestamp ${new Date(record.timestamp).toISOString()} (at most ` +
          `${job.maxEventTimeAheadMs} ms allowed): a producer's clock or the record's time field is wrong.`,
      );
      writes.push(deadLetterWrite(job.name, record, error));
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
 * Runs every task, and only once all of them have settled reports the first failure. A failed batch must not
 * leave a write running after the handler has thrown: in Lambda it would resume in the next invocation of the
 * execution environment, and a job whose two offsets write the same key could roll a row back (issue 8, fix 5).
 */
export async function settleAll<R>(tasks: ReadonlyArray<Promise<R>>): Promise<R[]> {
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}

/** A record whose effect the sink refused for good: why, and what of its effect it took all the same. */
export interface RefusedRecord {
  readonly error: SinkError;
  /**
   * The record's effects the sink did write (its other rows, its other windows' partials): a refused record
   * is dead-lettered, and its dead letter must say that part of it stays applied.
   */
  readonly kept: readonly string[];
}

/**
 * Writes the effects: rows and dead letters, then the partials. Returns the offsets whose effects the sink
 * refused for good (to be dead-lettered); throws when a dead letter itself is refused (there is nowhere left
 * to put it) or on a retriable failure (the batch is retried).
 */
export async function writeEffects(
  job: Job,
  effects: Effects,
  lane: PartialLane,
  sink: SinkStore,
): Promise<Map<bigint, RefusedRecord>> {
  const refused = new Map<bigint, SinkError>();
  const rejected = new Set<SinkWrite>();
  for (const { write, error } of await sink.write(effects.writes)) {
    if (write.table === DEAD_LETTERS) {
      throw new SinkError(`The dead-letter table refused a write: ${error.message}`, false, {
        cause: error,
      });
    }
    refused.set(write.offset, error);
    rejected.add(write);
  }
  let refusedPartials = new Set<string>();
  if (job.kind === 'window' && effects.partials) {
    const folded = await applyPartials(job, lane, effects.partials, sink);
    for (const [offset, error] of folded.refused) refused.set(offset, error);
    refusedPartials = folded.refusedPartials;
  }
  const out = new Map<bigint, RefusedRecord>();
  if (!refused.size) return out;
  // What each refused record kept, indexed once: a sink down for good refuses every record of the batch.
  const kept = new Map<bigint, string[]>();
  const keep = (offset: bigint, what: string) => {
    if (!refused.has(offset)) return;
    let list = kept.get(offset);
    if (!list) kept.set(offset, (list = []));
    list.push(what);
  };
  for (const w of effects.writes)
    if (w.table !== DEAD_LETTERS && !rejected.has(w)) keep(w.offset, `a row of ${w.table.name}`);
  for (const [id, p] of effects.partials ?? [])
    if (!refusedPartials.has(id))
      for (const r of p.readings)
        keep(
          r.offset,
          `its reading in the window of ${p.key.key} from ${new Date(p.key.windowStart).toISOString()}`,
        );
  for (const [offset, error] of refused) out.set(offset, { error, kept: kept.get(offset) ?? [] });
  return out;
}

/**
 * Folds the readings into their stored partials by compare-and-set on `covered_offset`: read, fold only the
 * readings above the covered offset, write if the partial still covers what was read, else read again.
 * Readings are folded in offset order within one lane, which is what lets the covered offset say what a
 * partial holds. Returns the offsets of readings whose partial the sink refused for good, to dead-letter them.
 */
async function applyPartials<T>(
  job: WindowJob<T>,
  lane: PartialLane,
  partials: ReadonlyMap<string, PartialReadings>,
  sink: SinkStore,
  maxAttempts = 20,
): Promise<{ refused: Map<bigint, SinkError>; refusedPartials: Set<string> }> {
  const spec = windowSpecId(job.window);
  const refused = new Map<bigint, SinkError>();
  const refusedPartials = new Set<string>();
  let pending = [...partials.entries()];
  for (let attempt = 1; pending.length; attempt++) {
    if (attempt > maxAttempts) {
      throw new ContentionError(
        `Gave up folding ${pending.length} window partial(s) of ${lane.topic}-${lane.partition} for job ${job.name}: ` +
          'other invocations kept changing them. The event source will retry the batch.',
      );
    }
    const stored = await sink.readPartials(
      job.table,
      spec,
      lane,
      pending.map(([, e]) => e.key),
    );
    const lost = await settleAll(
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
          [windowKeyColumn(job.table)]: entry.key.key,
          window_spec: spec,
          window_start: new Date(entry.key.windowStart),
          topic: lane.topic,
          kafka_partition: lane.partition,
          lane: lane.lane,
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
          refusedPartials.add(id);
          for (const reading of entry.readings)
            if (reading.offset > (before?.coveredOffset ?? -1n)) refused.set(reading.offset, error);
          return undefined;
        }
      }),
    );
    pending = lost.filter((e): e is [string, PartialReadings] => e !== undefined);
  }
  return { refused, refusedPartials };
}
