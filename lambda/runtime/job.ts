/**
 * The job API: what a pipeline declares. A job names its topics, a decoder, and either a per-record transform
 * into rows or an event-time window aggregation; its sink tables come from the one typed schema.
 *
 * ```ts
 * const job = defineTransformJob({
 *   name: 'sent-received',
 *   topics: ['test'],
 *   decoder: utf8(),
 *   sinkTables: [SENT_RECEIVED],
 *   transform: (timeSent, { processingTime }) => [
 *     { table: SENT_RECEIVED, values: { time_sent: timeSent, time_received: format(processingTime) } },
 *   ],
 * });
 * export const handler = handlerFor(job);
 * ```
 */
import { SENSOR_STATS, type TableDef } from '../../schema';
import type { Decoder } from './decoders';
import type { KafkaRecord } from './event';
import { assertWindowSpec, type WindowSpec } from './windows';

export interface Row {
  readonly table: TableDef;
  readonly values: Readonly<Record<string, unknown>>;
}

export interface RecordContext {
  readonly record: KafkaRecord;
  /**
   * The processing time of the micro-batch, pinned when the batch claimed its offsets. A replay of the same
   * offsets sees the same value, so its rows are identical (Spark Streaming's "batch time").
   */
  readonly processingTime: Date;
}

interface JobBase<T> {
  readonly name: string;
  readonly topics: readonly string[];
  readonly decoder: Decoder<T>;
  /** Fail the batch when records were lost below its first offset (Spark's `failOnDataLoss`). */
  readonly failOnDataLoss: boolean;
}

export interface TransformJob<T> extends JobBase<T> {
  readonly kind: 'transform';
  readonly sinkTables: readonly TableDef[];
  /** Pure: the same value and context must give the same rows. Throw `RecordError` to dead-letter. */
  transform(value: T, context: RecordContext): readonly Row[];
}

/** Numeric statistics (count, sum, min, max; mean on read) per key and event-time window. */
export interface WindowJob<T> extends JobBase<T> {
  readonly kind: 'window';
  readonly window: WindowSpec;
  readonly allowedLatenessMs: number;
  /** A table of the `sensor_stats` shape. */
  readonly table: TableDef;
  eventTime(value: T): number;
  key(value: T): string;
  measure(value: T): number;
}

// A job's value type is its own business once it is built; the runtime only passes values from the
// decoder to the job's own functions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Job = TransformJob<any> | WindowJob<any>;

function assertJobBase(spec: { name: string; topics: readonly string[] }): void {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(spec.name)) {
    throw new Error(
      `Job name '${spec.name}' is invalid: use lower-case letters, digits and dashes, starting with a letter.`,
    );
  }
  if (!spec.topics.length)
    throw new Error(`Job '${spec.name}' declares no topics: list at least one topic it reads.`);
}

export function defineTransformJob<T>(
  spec: Omit<TransformJob<T>, 'kind' | 'failOnDataLoss'> & { failOnDataLoss?: boolean },
): TransformJob<T> {
  assertJobBase(spec);
  if (!spec.sinkTables.length) throw new Error(`Job '${spec.name}' declares no sink tables.`);
  return { ...spec, kind: 'transform', failOnDataLoss: spec.failOnDataLoss ?? false };
}

export function defineWindowJob<T>(
  spec: Omit<WindowJob<T>, 'kind' | 'failOnDataLoss' | 'table'> & {
    failOnDataLoss?: boolean;
    table?: TableDef;
  },
): WindowJob<T> {
  assertJobBase(spec);
  assertWindowSpec(spec.window);
  if (!Number.isInteger(spec.allowedLatenessMs) || spec.allowedLatenessMs < 0) {
    throw new Error(
      `Job '${spec.name}': allowedLatenessMs must be a non-negative integer, received ${spec.allowedLatenessMs}.`,
    );
  }
  return {
    ...spec,
    kind: 'window',
    table: spec.table ?? SENSOR_STATS,
    failOnDataLoss: spec.failOnDataLoss ?? false,
  };
}

export function jobTables(job: Job): readonly TableDef[] {
  return job.kind === 'transform' ? job.sinkTables : [job.table];
}
