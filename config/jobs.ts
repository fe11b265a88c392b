/**
 * What the config, the CDK app and the local tools know of a job without running its code: its name, topics,
 * tables and its own options with their defaults. A job file (lambda/jobs/<name>.ts) declares all of it with
 * `defineJob`, which adds the code; the registry (lambda/runtime/registry.ts) finds the files.
 */
import { RUNTIME_TABLE_DEFS, type TableDef, type TopicDef } from '../schema';
import type { StartingPosition } from './index';

export interface IntOption {
  readonly type: 'int';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly doc: string;
}

export interface EnumOption<V extends string = string> {
  readonly type: 'enum';
  readonly default: V;
  readonly values: readonly V[];
  readonly doc: string;
}

export interface BoolOption {
  readonly type: 'bool';
  readonly default: boolean;
  readonly doc: string;
}

export type OptionSpec = IntOption | EnumOption | BoolOption;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The value type of one option spec (distributes over a union of specs). */
export type OptionValue<S> = S extends IntOption
  ? number
  : S extends EnumOption<infer V>
    ? V
    : S extends BoolOption
      ? boolean
      : never;

/** The validated values of a job's options, typed from their specs. */
export type OptionValues<O extends OptionSpecs> = { readonly [K in keyof O]: OptionValue<O[K]> };

/** Builders of option specs, for `defineJob({ options: { ... } })`. */
export const option = {
  int: (spec: Omit<IntOption, 'type'>): IntOption => ({ type: 'int', ...spec }),
  // `const`: values written inline keep their literal types ('EUR' | 'USD', not string).
  oneOf: <const V extends string>(spec: {
    readonly default: NoInfer<V>;
    readonly values: readonly V[];
    readonly doc: string;
  }): EnumOption<V> => ({ type: 'enum', ...spec }),
  bool: (spec: Omit<BoolOption, 'type'>): BoolOption => ({ type: 'bool', ...spec }),
};

/** Event-source defaults a job may set for itself (the config can still override each). */
export interface EventSourceDefaults {
  readonly batchSize?: number;
  readonly maxBatchingWindowSeconds?: number;
  readonly startingPosition?: StartingPosition;
}

/** A problem with a job's options taken together, e.g. a slide that does not divide the window. */
export interface OptionProblem {
  /** The option's name (the config key is `jobs.<job>.<option>`). */
  readonly option: string;
  readonly value: unknown;
  readonly expected: string;
}

export interface JobDescriptor<O extends OptionSpecs = OptionSpecs> {
  /** Lower-case letters, digits and dashes, starting with a letter: it names the stacks' resources too. */
  readonly name: string;
  readonly doc: string;
  readonly kind: 'transform' | 'window';
  /** The topics it reads; their partitions are the default of `topics.<topic>.partitions`. */
  readonly topics: readonly TopicDef[];
  /** The tables it writes (the runtime's own tables come with every job). */
  readonly tables: readonly TableDef[];
  readonly options: O;
  /** @default - the config's defaults (batch of up to 10,000, a 5 s window, TRIM_HORIZON) */
  readonly eventSourceDefaults?: EventSourceDefaults;
  /** @default - every option is checked on its own only */
  check?(options: OptionValues<O>): OptionProblem | undefined;
  /** Window jobs: the window its options give, for queries and the status page. */
  windowOf?(options: OptionValues<O>): { readonly sizeMs: number; readonly slideMs: number };
}

/** A job the registry found: its descriptor and the file that declares it (the Lambda entry). */
export interface RegisteredJobDescriptor extends JobDescriptor {
  /** Relative to the repository root, e.g. `lambda/jobs/sent-received.ts`. */
  readonly entry: string;
}

/** Every topic the jobs read, once each (a topic two jobs read must be declared the same by both). */
export function topicsOf(jobs: readonly JobDescriptor[]): TopicDef[] {
  const out = new Map<string, TopicDef>();
  for (const job of jobs)
    for (const topic of job.topics) if (!out.has(topic.name)) out.set(topic.name, topic);
  return [...out.values()];
}

/** Every sink table of the jobs, once each. */
export function jobTablesOf(jobs: readonly JobDescriptor[]): TableDef[] {
  const out = new Map<string, TableDef>();
  for (const job of jobs)
    for (const table of job.tables) if (!out.has(table.name)) out.set(table.name, table);
  return [...out.values()];
}

/** Every table of a pipeline: its jobs' tables and the runtime's own, once each. */
export function pipelineTables(jobs: readonly JobDescriptor[]): TableDef[] {
  const out = new Map<string, TableDef>();
  for (const table of [...jobTablesOf(jobs), ...RUNTIME_TABLE_DEFS])
    if (!out.has(table.name)) out.set(table.name, table);
  return [...out.values()];
}

/** What reading a transform job's results needs: its table, and the columns to show and order by. */
export interface TransformJobView {
  readonly name: string;
  readonly kind: 'transform';
  readonly topics: readonly string[];
  /** The table its results are read from: its first. */
  readonly table: string;
  readonly columns: readonly string[];
  /** The primary key columns, in order: rows are shown by key, largest (newest, for a time key) first. */
  readonly key: readonly string[];
}

/** What reading a window job's results needs: its window table, the table's key column, and the window. */
export interface WindowJobView {
  readonly name: string;
  readonly kind: 'window';
  readonly topics: readonly string[];
  readonly table: string;
  readonly keyColumn: string;
  readonly window: { readonly sizeMs: number; readonly slideMs: number };
}

/**
 * A job as the readers (the query function, `microbatch query`, the UI) see it: plain data, small enough for an
 * environment variable, so that a reader needs neither the job's code nor its schema module.
 */
export type JobView = TransformJobView | WindowJobView;

/** The views of the jobs, from their descriptors and their validated options. */
export function jobViews(
  jobs: readonly JobDescriptor[],
  options: (job: string) => Readonly<Record<string, unknown>>,
): JobView[] {
  return jobs.map((job): JobView => {
    const table = job.tables[0]!;
    const topics = job.topics.map((t) => t.name);
    if (job.kind === 'transform') {
      return {
        name: job.name,
        kind: job.kind,
        topics,
        table: table.name,
        columns: table.columns.map((c) => c.name),
        key: [...table.partitionKey, ...table.clustering.map((c) => c.name)],
      };
    }
    return {
      name: job.name,
      kind: job.kind,
      topics,
      table: table.name,
      keyColumn: table.partitionKey[0]!,
      window: job.windowOf!(options(job.name) as never),
    };
  });
}
