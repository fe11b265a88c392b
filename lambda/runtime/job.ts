/**
 * The job API: what a pipeline declares. A job file (`lambda/jobs/<name>.ts`) declares one job with `defineJob`:
 * its topics, its tables from the typed schema, its options, and the code, built by `defineTransformJob` (a
 * per-record transform into rows) or `defineWindowJob` (an event-time window aggregation). `microbatch new job`
 * writes one from a template.
 */
import {
  assertWindowTable,
  tableDefProblems,
  topicDefProblems,
  TOPIC_NAME,
  type TableDef,
} from '../../schema';
import type { JobConfig, PipelineConfig } from '../../config';
import type { JobDescriptor, OptionSpec, OptionSpecs, OptionValues } from '../../config/jobs';
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
  /**
   * How far a record's event time may be ahead of its Kafka timestamp, in ms; a record further ahead goes to the
   * dead letters as `future` instead of moving its partition's watermark there, where every reading of the
   * partition would be late until real time caught up (one reading stamped a century ahead would make them late
   * for a century). Records without a Kafka timestamp (-1) are not checked.
   * @default - no limit, as Spark's, Flink's and Kafka Streams' watermarks have none
   */
  readonly maxEventTimeAheadMs?: number;
  /** A table of window partials, made with `windowTable()` from schema/tables.ts. */
  readonly table: TableDef;
  eventTime(value: T): number;
  key(value: T): string;
  /**
   * A finite number at most `MAX_MEASURE` (lambda/runtime/windows.ts, about 9.7e288) in absolute value; a record
   * whose measure is not goes to the dead letters as `schema`.
   */
  measure(value: T): number;
}

// A job's value type is its own business once it is built; the runtime only passes values from the
// decoder to the job's own functions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Job = TransformJob<any> | WindowJob<any>;

/**
 * A job name: lower-case letters, digits and single dashes, starting with a letter and ending with a letter or
 * digit, at most `maxLength` characters (63: it names the stacks' resources).
 */
export function isJobName(name: string, maxLength = 63): boolean {
  return /^[a-z]([a-z0-9]|-(?!-))*$/.test(name) && !name.endsWith('-') && name.length <= maxLength;
}

function assertJobBase(spec: { name: string; topics: readonly string[] }): void {
  if (!isJobName(spec.name)) {
    throw new Error(
      `Job name '${spec.name}' is invalid: use lower-case letters, digits and single dashes, starting with a ` +
        'letter and ending with a letter or digit (e.g. clicks, page-views).',
    );
  }
  if (!spec.topics.length)
    throw new Error(`Job '${spec.name}' declares no topics: list at least one topic it reads.`);
  for (const topic of spec.topics) {
    if (!TOPIC_NAME.test(topic))
      throw new Error(
        `Job '${spec.name}' topic '${topic}' is not a legal Kafka topic name: use 1-249 of a-z A-Z 0-9 . _ -.`,
      );
  }
}

/**
 * A job that turns each record into rows. The transform must be pure: a redelivered batch runs it again on the
 * same records with the same `processingTime`, and must give the same rows. Throw `RecordError` to send a record
 * to the dead letters; anything else fails the batch, which the event source retries.
 *
 * @example
 * ```ts
 * defineTransformJob({
 *   name: 'sent-received',
 *   topics: ['test'],
 *   decoder: utf8(),
 *   sinkTables: [SENT_RECEIVED],
 *   transform: (timeSent, { processingTime }) => [
 *     { table: SENT_RECEIVED, values: { time_sent: timeSent, time_received: processingTime.toISOString() } },
 *   ],
 * });
 * ```
 */
export function defineTransformJob<T>(
  spec: Omit<TransformJob<T>, 'kind' | 'failOnDataLoss'> & { failOnDataLoss?: boolean },
): TransformJob<T> {
  assertJobBase(spec);
  if (!spec.sinkTables.length) throw new Error(`Job '${spec.name}' declares no sink tables.`);
  return { ...spec, kind: 'transform', failOnDataLoss: spec.failOnDataLoss ?? false };
}

/**
 * A job that keeps count, sum, min and max of `measure` per `key` and event-time window, one partial per Kafka
 * partition, merged on read. Records whose event time is behind the watermark (the newest event time less
 * `allowedLatenessMs`) are counted as late and dead-lettered, not folded. The table is made with `windowTable()`.
 *
 * @example
 * ```ts
 * defineWindowJob({
 *   name: 'page-views',
 *   topics: ['page-views'],
 *   decoder: json(PageView), // a Standard Schema or a validator function
 *   table: PAGE_VIEW_COUNTS,
 *   window: { sizeMs: 60_000, slideMs: 60_000 }, // tumbling; a smaller slide gives sliding windows
 *   allowedLatenessMs: 30_000,
 *   eventTime: (view) => view.ts,
 *   key: (view) => view.page,
 *   measure: () => 1, // a count
 * });
 * ```
 */
export function defineWindowJob<T>(
  spec: Omit<WindowJob<T>, 'kind' | 'failOnDataLoss'> & { failOnDataLoss?: boolean },
): WindowJob<T> {
  assertJobBase(spec);
  try {
    assertWindowSpec(spec.window);
    assertWindowTable(spec.table);
  } catch (error) {
    throw new Error(`Job '${spec.name}': ${(error as Error).message}`, { cause: error });
  }
  if (!Number.isInteger(spec.allowedLatenessMs) || spec.allowedLatenessMs < 0) {
    throw new Error(
      `Job '${spec.name}': allowedLatenessMs must be a non-negative integer, received ${spec.allowedLatenessMs}.`,
    );
  }
  if (
    spec.maxEventTimeAheadMs !== undefined &&
    (!Number.isSafeInteger(spec.maxEventTimeAheadMs) || spec.maxEventTimeAheadMs < 1)
  ) {
    throw new Error(
      `Job '${spec.name}': maxEventTimeAheadMs must be a positive integer of milliseconds, received ` +
        `${spec.maxEventTimeAheadMs}; leave it out for no limit.`,
    );
  }
  return {
    ...spec,
    kind: 'window',
    failOnDataLoss: spec.failOnDataLoss ?? false,
  };
}

export function jobTables(job: Job): readonly TableDef[] {
  return job.kind === 'transform' ? job.sinkTables : [job.table];
}

/** The validated config a job gets: the event source knobs, `failOnDataLoss`, and its own options. */
export type JobConfigFor<O extends OptionSpecs> = JobConfig<OptionValues<O>>;

/**
 * One job's validated config out of the pipeline's, typed by the job's own options.
 *
 * @example
 * ```ts
 * const config = loadConfig(objectGetter({ 'jobs.clicks.batchSize': 500 }), [clicks]);
 * const job = clicks.create(jobConfigOf(clicks, config));
 * ```
 */
export function jobConfigOf<O extends OptionSpecs>(
  definition: JobDefinition<O>,
  config: PipelineConfig,
): JobConfigFor<O> {
  const jobConfig = config.jobs[definition.name];
  if (!jobConfig)
    throw new Error(
      `The config has no job '${definition.name}': pass its definition to loadConfig with the other jobs.`,
    );
  // loadConfig read every option of this definition with its spec, so the values have the declared types.
  return jobConfig as JobConfigFor<O>;
}

/** Local demo data for a job: what `npm run local` and `microbatch produce <job>` send to its topic. */
export interface SampleData {
  /** Records per second `npm run local` sends. */
  readonly ratePerSecond: number;
  /** The record number `seq`, sent at `now`. */
  make(seq: number, now: Date): { readonly key?: string; readonly value: string };
}

/**
 * A job, declared in one file: what it reads and writes, its options with their defaults, and the code that
 * builds it. The registry (lambda/runtime/registry.ts) finds every such file, so adding a job edits nothing else.
 */
export interface JobDefinition<O extends OptionSpecs = OptionSpecs> extends JobDescriptor<O> {
  /** Builds the runtime job (`defineTransformJob` or `defineWindowJob`) from the job's validated config. */
  create(config: JobConfigFor<O>): Job;
  /** @default - the job has no demo data; `npm run local` runs it on whatever reaches its topics */
  readonly sample?: SampleData;
}

const DEFINITION = Symbol.for('microbatch.job-definition');

/** What is wrong with a job's demo data, one sentence each: found when the job loads, not when it produces. */
function sampleProblems(sample: SampleData | undefined): string[] {
  if (sample === undefined) return [];
  const problems: string[] = [];
  const rate: unknown = sample.ratePerSecond;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0)
    problems.push(`sample.ratePerSecond is ${String(rate)}: expected a positive number of records a second`);
  if (typeof sample.make !== 'function')
    problems.push('sample.make is not a function (seq, now) => { key?, value }');
  return problems;
}

/** Event-source keys of `jobs.<job>.*`: a job's own option may not take one of these names. */
const RESERVED_OPTIONS = new Set([
  'batchSize',
  'maxBatchingWindowSeconds',
  'startingPosition',
  'startingPositionTimestamp',
  'consumerGroupId',
  'retryAttempts',
  'maxRecordAgeSeconds',
  'bisectBatchOnError',
  'reportBatchItemFailures',
  'provisionedPollers',
  'filters',
  'failOnDataLoss',
]);

/**
 * Declares a job. The file that calls it exports the definition as its default export, and its Lambda entry as
 * `handler`:
 *
 * @example
 * ```ts
 * const job = defineJob({
 *   name: 'clicks',
 *   doc: 'Clicks by url and event time, with the time the pipeline took them.',
 *   kind: 'transform',
 *   topics: [{ name: 'clicks', doc: 'JSON clicks {url, ts}', partitions: 3 }],
 *   tables: [CLICKS],
 *   options: {},
 *   create: (config) =>
 *     defineTransformJob({
 *       name: 'clicks',
 *       topics: ['clicks'],
 *       decoder: json(clickSchema),
 *       sinkTables: [CLICKS],
 *       failOnDataLoss: config.failOnDataLoss,
 *       transform: (click, { processingTime }) => [
 *         { table: CLICKS, values: { url: click.url, ts: click.ts, seen_at: processingTime } },
 *       ],
 *     }),
 * });
 * export default job;
 * export const handler = handlerFor(job);
 * ```
 */
export function defineJob<O extends OptionSpecs>(spec: JobDefinition<O>): JobDefinition<O> {
  assertJobBase({ name: spec.name, topics: spec.topics.map((t) => t.name) });
  if (!spec.tables.length)
    throw new Error(`Job '${spec.name}' declares no tables: list the tables it writes.`);
  const problems = [
    ...spec.topics.flatMap((t) => topicDefProblems(t).map((p) => `topic '${t.name}': ${p}`)),
    ...spec.tables.flatMap((t) => tableDefProblems(t).map((p) => `table '${t.name}': ${p}`)),
    ...Object.entries(spec.options).flatMap(([name, o]) =>
      optionProblems(o).map((p) => `option '${name}': ${p}`),
    ),
    ...sampleProblems(spec.sample),
  ];
  if (problems.length)
    throw new Error(
      `Job '${spec.name}' is not valid: ${problems.join('; ')}. Fix it in lambda/jobs/${spec.name}.ts.`,
    );
  for (const key of Object.keys(spec.options)) {
    if (RESERVED_OPTIONS.has(key)) {
      throw new Error(
        `Job '${spec.name}' option '${key}' takes the name of an event-source setting (jobs.${spec.name}.${key}); rename it.`,
      );
    }
    if (!/^[a-z][a-zA-Z0-9]*$/.test(key))
      throw new Error(
        `Job '${spec.name}' option '${key}' is not a camelCase name; config keys are jobs.<job>.<option>.`,
      );
  }
  if (spec.kind === 'window') {
    if (!spec.windowOf)
      throw new Error(`Window job '${spec.name}' needs windowOf(options): the window its options give.`);
    // Queries and the UI read a window job's results from its first table.
    assertWindowTable(spec.tables[0]!);
  }
  return { ...spec, [DEFINITION]: true } as JobDefinition<O>;
}

/**
 * The runtime job of a definition, built from its validated config, and checked against the definition: the CDK
 * app builds the event source mapping, the tables and the IAM from the definition, the runtime runs what
 * `create()` returns, so a difference would only fail in the cloud (a missing table, a denied write, a foreign
 * topic). Every entry point (the handlers, the redrive, the local runner) builds its job here.
 */
export function createJob<O extends OptionSpecs>(definition: JobDefinition<O>, config: JobConfigFor<O>): Job {
  const job = definition.create(config);
  const differs = (what: string, declared: string, created: string) =>
    new Error(
      `Job '${definition.name}': its definition declares ${what} ${declared}, but create() built a job with ` +
        `${created}. Make create() use the definition's own values (its file: lambda/jobs/${definition.name}.ts).`,
    );
  const list = (names: readonly string[]) => `[${[...names].sort().join(', ')}]`;
  if (job.name !== definition.name) throw differs('name', `'${definition.name}'`, `name '${job.name}'`);
  if (job.kind !== definition.kind) throw differs('kind', `'${definition.kind}'`, `kind '${job.kind}'`);
  const topics = list(definition.topics.map((t) => t.name));
  if (list(job.topics) !== topics) throw differs('topics', topics, `topics ${list(job.topics)}`);
  const tables = definition.tables.map((t) => t.name);
  const written = (job.kind === 'transform' ? job.sinkTables : [job.table]).map((t) => t.name);
  const undeclared = written.filter((t) => !tables.includes(t));
  if (undeclared.length) throw differs('tables', list(tables), `tables ${list(written)}`);
  if (job.kind === 'window') {
    if (job.table.name !== tables[0])
      throw differs('its window table first', `'${tables[0]}'`, `table '${job.table.name}'`);
    const declared = definition.windowOf!(config.options);
    if (declared.sizeMs !== job.window.sizeMs || declared.slideMs !== job.window.slideMs) {
      // Queries and the UI read the window_spec windowOf gives; the job writes its own.
      throw differs(
        'window (windowOf)',
        `${declared.sizeMs}/${declared.slideMs} ms`,
        `window ${job.window.sizeMs}/${job.window.slideMs} ms (size/slide)`,
      );
    }
  }
  return job;
}

/** What is wrong with an option's spec: a default the option itself would refuse fails every cold start. */
function optionProblems(spec: OptionSpec): string[] {
  switch (spec.type) {
    case 'int':
      if (!Number.isInteger(spec.min) || !Number.isInteger(spec.max) || spec.min > spec.max)
        return [`min ${spec.min} and max ${spec.max} must be integers, min at most max`];
      return Number.isInteger(spec.default) && spec.default >= spec.min && spec.default <= spec.max
        ? []
        : [`its default ${spec.default} is not an integer from ${spec.min} to ${spec.max}`];
    case 'enum':
      return spec.values.includes(spec.default)
        ? []
        : [`its default '${spec.default}' is not one of its values (${spec.values.join(', ')})`];
    case 'bool':
      // A plain-JavaScript job file can give anything, whatever the type says.
      return typeof (spec.default as unknown) === 'boolean'
        ? []
        : [`its default ${String(spec.default as unknown)} is not true or false`];
  }
}

export function isJobDefinition(value: unknown): value is JobDefinition {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DEFINITION] === true
  );
}
