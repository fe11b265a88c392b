/**
 * `microbatch new job <name> [--window]`: writes a job file (`lambda/jobs/<name>.ts`) and its test
 * (`test/lambda/jobs/<name>.test.ts`) from a template. The job declares its own topic and table, so it
 * synthesizes (a consumer and its event source mapping), runs in `microbatch local` and passes its test with no
 * other edit. Edit the decoder, the table and the transform (or key and measure) to make it yours.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isJobName } from '../lambda/runtime/job';
import { JOBS_DIR, stackOutputKey } from '../lambda/runtime/registry';
import { isReservedWord, RUNTIME_TABLE_DEFS } from '../schema';

export class NewJobError extends Error {
  override readonly name = 'NewJobError';
}

export interface NewJobOptions {
  /** The job's name: lower-case letters, digits and dashes, starting with a letter. */
  readonly name: string;
  /** A window job (a keyed count, sum, min, max per event-time window) instead of a transform job. */
  readonly window: boolean;
  /** The repository root to write into. */
  readonly root: string;
  /**
   * The jobs there are: the new job's topic and table must be its own (two declarations of one topic, or two
   * jobs on one table, are refused by the registry once the files are written).
   * @default - no jobs: only the runtime's own tables are taken
   */
  readonly existing?: ReadonlyArray<{
    readonly name: string;
    readonly topics: ReadonlyArray<{ readonly name: string }>;
    readonly tables: ReadonlyArray<{ readonly name: string }>;
  }>;
}

export interface NewJobResult {
  /** The files written, relative to the root. */
  readonly files: readonly string[];
}

// At most 48 characters: the job's table takes its name, and a CQL table name has at most 48.
const MAX_NAME_LENGTH = 48;

/**
 * What the job's variable (its name in camelCase) cannot be: JavaScript's reserved words in a module (strict
 * mode), and the names the generated job and test declare or import at their top level, which it would
 * declare a second time.
 */
const TAKEN_IDENTIFIERS = new Set(
  (
    'arguments await break case catch class const continue debugger default delete do else enum eval export ' +
    'extends false finally for function if implements import in instanceof interface let new null package ' +
    'private protected public return static super switch this throw true try typeof undefined var void while ' +
    'with yield ' +
    // the job file
    'option windowTable json handlerFor defineJob defineTransformJob defineWindowJob handler maxEventTimeAhead ' +
    // its test
    'describe expect it loadConfig objectGetter runMicroBatch createJob jobConfigOf batchOf config job event stores'
  ).split(' '),
);

/** `page-views` → `pageViews`. */
function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** `page-views` → `PAGE_VIEWS`. */
function constant(name: string): string {
  return name.replace(/-/g, '_').toUpperCase();
}

/** `page-views` → `page_views`: a CQL table name (letters, digits, underscores). */
function tableName(name: string): string {
  return name.replace(/-/g, '_');
}

/**
 * The project's own formatting of a generated file (prettier and its config, a dev dependency), so a new job
 * passes `prettier --check` like the rest; without prettier installed, the template's layout as it is.
 */
async function formatted(file: string, text: string): Promise<string> {
  let prettier: typeof import('prettier');
  try {
    prettier = await import('prettier');
  } catch {
    return text;
  }
  const config = await prettier.resolveConfig(file);
  return prettier.format(text, { ...config, filepath: file });
}

/** Names to suggest instead of a refused one, `keyspaces` → `my-keyspaces`: only those the checks above would take. */
function otherNames(name: string): string {
  return [`${name}s`, `my-${name}`]
    .filter(
      (other) =>
        isJobName(other, MAX_NAME_LENGTH) &&
        !isReservedWord(tableName(other)) &&
        !TAKEN_IDENTIFIERS.has(camel(other)),
    )
    .join(' or ');
}

export async function newJob(options: NewJobOptions): Promise<NewJobResult> {
  const { name, root } = options;
  if (!isJobName(name, MAX_NAME_LENGTH)) {
    throw new NewJobError(
      `Job name '${name}' is invalid: use lower-case letters, digits and single dashes, starting with a letter, ` +
        `at most 48 characters (its table takes the name; e.g. clicks, page-views).`,
    );
  }
  const jobFile = `${JOBS_DIR}/${name}.ts`;
  const testFile = `test/${JOBS_DIR}/${name}.test.ts`;
  for (const file of [jobFile, testFile]) {
    if (existsSync(join(root, file)))
      throw new NewJobError(`${file} exists already: pick another name, or edit that job.`);
  }
  if (isReservedWord(tableName(name)))
    throw new NewJobError(
      `Job name '${name}' would name its table '${tableName(name)}', a CQL reserved word: pick another name ` +
        `(e.g. ${otherNames(name)}).`,
    );
  if (TAKEN_IDENTIFIERS.has(camel(name)))
    throw new NewJobError(
      `Job name '${name}' would name its variable '${camel(name)}', which the generated files cannot declare ` +
        `(a JavaScript reserved word, or a name they already use): pick another name (e.g. ${otherNames(name)}).`,
    );
  // The registry refuses two jobs with the same stack output key (RedriveFunctionpageviews): say so before writing.
  const alike = (options.existing ?? []).find((job) => stackOutputKey(job.name) === stackOutputKey(name));
  if (alike && alike.name !== name)
    throw new NewJobError(
      `Job name '${name}' differs from job '${alike.name}''s only by dashes, which CloudFormation drops from the ` +
        "pipeline stack's outputs: pick another name.",
    );
  const taken = (what: 'topics' | 'tables', wanted: string) =>
    (options.existing ?? []).find((job) => job[what].some((t) => t.name === wanted));
  const topicOwner = taken('topics', name);
  if (topicOwner)
    throw new NewJobError(
      `Topic '${name}' is job '${topicOwner.name}''s already, and a new job gets a topic of its own named after it: ` +
        `pick another name (a second job on the same topic imports its TopicDef; see lambda/jobs/shared/).`,
    );
  const table = tableName(name);
  const tableOwner = taken('tables', table);
  if (tableOwner || RUNTIME_TABLE_DEFS.some((t) => t.name === table))
    throw new NewJobError(
      `Table '${table}' is ${tableOwner ? `job '${tableOwner.name}''s` : "one of the runtime's own"} already, and a ` +
        'new job gets a table of its own named after it: pick another name.',
    );
  const files: Array<[string, string]> = [
    [jobFile, options.window ? windowJobSource(name) : transformJobSource(name)],
    [testFile, options.window ? windowTestSource(name) : transformTestSource(name)],
  ];
  for (const [file, text] of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), await formatted(join(root, file), text), { flag: 'wx' });
  }
  return { files: files.map(([file]) => file) };
}

function transformJobSource(name: string): string {
  const c = constant(name);
  const v = camel(name);
  return `/**
 * ${name}: JSON records \`{id, value}\` on topic \`${name}\`; the job stores each one with the processing time of the
 * micro-batch that took it. Written by \`microbatch new job ${name}\`: make the decoder, the table and the transform
 * yours. A record the validator refuses goes to the dead letters with its reason, and the batch goes on.
 */
import type { TableDef, TopicDef } from '../../schema';
import { json, SchemaViolation } from '../runtime/decoders';
import { handlerFor } from '../runtime/handler';
import { defineJob, defineTransformJob } from '../runtime/job';

export const ${c}_TOPIC: TopicDef = {
  name: '${name}',
  doc: 'JSON records {id, value}.',
  partitions: 3,
};

export const ${c}_TABLE: TableDef = {
  name: '${tableName(name)}',
  doc: '${name}: every record, with the time the pipeline took it.',
  columns: [
    { name: 'id', type: 'text', doc: 'The record id.' },
    { name: 'value', type: 'double', doc: 'The record value.' },
    { name: 'received_at', type: 'timestamp', doc: 'The processing time of the micro-batch that took it.' },
  ],
  partitionKey: ['id'],
  clustering: [],
  defaultTtlSeconds: 0,
};

export interface ${pascal(name)}Record {
  readonly id: string;
  readonly value: number;
}

/** Checks one decoded value; a \`SchemaViolation\` names the field and sends the record to the dead letters. */
export function validate${pascal(name)}(input: unknown): ${pascal(name)}Record {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new SchemaViolation('$', 'expected an object {id, value}');
  const { id, value } = input as Record<string, unknown>;
  if (typeof id !== 'string' || id.length === 0 || id.length > 256)
    throw new SchemaViolation('$.id', 'expected a non-empty string of at most 256 characters');
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new SchemaViolation('$.value', 'expected a finite number');
  return { id, value };
}

const ${v} = defineJob({
  name: '${name}',
  doc: 'Stores every record of topic ${name} with the time the pipeline took it.',
  kind: 'transform',
  topics: [${c}_TOPIC],
  tables: [${c}_TABLE],
  options: {},
  create: (config) =>
    defineTransformJob({
      name: '${name}',
      topics: [${c}_TOPIC.name],
      decoder: json(validate${pascal(name)}),
      sinkTables: [${c}_TABLE],
      failOnDataLoss: config.failOnDataLoss,
      // Pure: a redelivered batch gives the same rows (processingTime is pinned per batch).
      transform: (record, { processingTime }) => [
        { table: ${c}_TABLE, values: { id: record.id, value: record.value, received_at: processingTime } },
      ],
    }),
  // What \`microbatch local\` and \`microbatch produce ${name}\` send: two records a second.
  sample: {
    ratePerSecond: 2,
    make: (seq) => ({ key: \`id-\${seq}\`, value: JSON.stringify({ id: \`id-\${seq}\`, value: seq % 100 }) }),
  },
});

export default ${v};
/** The Lambda entry point of the job. */
export const handler = handlerFor(${v});
`;
}

function windowJobSource(name: string): string {
  const c = constant(name);
  const v = camel(name);
  return `/**
 * ${name}: JSON records \`{id, ts, value}\` on topic \`${name}\`; the job keeps count, sum, min and max (and the mean,
 * on read) of \`value\` per \`id\` and event-time window, with a watermark. Written by \`microbatch new job ${name}
 * --window\`: make the decoder, the key and the measure yours (a measure of 1 counts records).
 */
import { option } from '../../config/jobs';
import { windowTable, type TopicDef } from '../../schema';
import { json, SchemaViolation } from '../runtime/decoders';
import { handlerFor } from '../runtime/handler';
import { defineJob, defineWindowJob } from '../runtime/job';
import { MAX_EVENT_TIME_MS } from '../runtime/windows';
import { MAX_EVENT_TIME_AHEAD_OPTION, maxEventTimeAhead } from './shared/time-format';

export const ${c}_TOPIC: TopicDef = {
  name: '${name}',
  doc: 'JSON records {id, ts, value}.',
  partitions: 3,
};

export const ${c}_TABLE = windowTable({
  name: '${tableName(name)}',
  doc: '${name}: count, sum, min and max per id and event-time window, one partial per Kafka partition.',
  keyColumn: 'id',
  keyDoc: 'The record id.',
});

export interface ${pascal(name)}Record {
  readonly id: string;
  /** Event time, epoch milliseconds. */
  readonly ts: number;
  readonly value: number;
}

/** Checks one decoded value; a \`SchemaViolation\` names the field and sends the record to the dead letters. */
export function validate${pascal(name)}(input: unknown): ${pascal(name)}Record {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new SchemaViolation('$', 'expected an object {id, ts, value}');
  const { id, ts, value } = input as Record<string, unknown>;
  if (typeof id !== 'string' || id.length === 0 || id.length > 256)
    throw new SchemaViolation('$.id', 'expected a non-empty string of at most 256 characters');
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0 || ts > MAX_EVENT_TIME_MS)
    throw new SchemaViolation('$.ts', \`expected epoch milliseconds, at most \${MAX_EVENT_TIME_MS}\`);
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new SchemaViolation('$.value', 'expected a finite number');
  return { id, ts, value };
}

const ${v} = defineJob({
  name: '${name}',
  doc: 'Count, sum, min, max and mean of value per id and event-time window.',
  kind: 'window',
  topics: [${c}_TOPIC],
  tables: [${c}_TABLE],
  options: {
    windowSeconds: option.int({ default: 60, min: 1, max: 86_400, doc: 'Event-time window size' }),
    allowedLatenessSeconds: option.int({ default: 10, min: 0, max: 86_400, doc: 'Watermark delay' }),
    // One record stamped far ahead moves its partition's watermark there, and every reading after it is late
    // until real time catches up; -c jobs.${name}.maxEventTimeAheadSeconds=3600 dead-letters it as future instead.
    maxEventTimeAheadSeconds: MAX_EVENT_TIME_AHEAD_OPTION,
  },
  windowOf: ({ windowSeconds }) => ({ sizeMs: windowSeconds * 1000, slideMs: windowSeconds * 1000 }),
  create: (config) =>
    defineWindowJob({
      name: '${name}',
      topics: [${c}_TOPIC.name],
      decoder: json(validate${pascal(name)}),
      table: ${c}_TABLE,
      window: { sizeMs: config.options.windowSeconds * 1000, slideMs: config.options.windowSeconds * 1000 },
      allowedLatenessMs: config.options.allowedLatenessSeconds * 1000,
      ...maxEventTimeAhead(config.options.maxEventTimeAheadSeconds),
      failOnDataLoss: config.failOnDataLoss,
      eventTime: (record) => record.ts,
      key: (record) => record.id,
      measure: (record) => record.value,
    }),
  // What \`microbatch local\` and \`microbatch produce ${name}\` send: four records a second over four ids.
  sample: {
    ratePerSecond: 4,
    make: (seq, now) => {
      const id = \`id-\${seq % 4}\`;
      return { key: id, value: JSON.stringify({ id, ts: now.getTime(), value: seq % 10 }) };
    },
  },
});

export default ${v};
/** The Lambda entry point of the job. */
export const handler = handlerFor(${v});
`;
}

/** `page-views` → `PageViews`. */
function pascal(name: string): string {
  const c = camel(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

/** The test harness both templates share: the job's default config, MSK events, and the in-memory stores. */
function testPrelude(name: string, imports: string): string {
  const v = camel(name);
  return `/**
 * ${name}: the job's code on MSK events, through the same \`runMicroBatch\` Lambda runs, against the in-memory
 * model of the stores (test/support/memory-store.ts). Written by \`microbatch new job\`; keep it in step with the
 * job.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, objectGetter } from '../../../config';
import ${v}, { handler, ${constant(name)}_TOPIC, ${imports} } from '../../../lambda/jobs/${name}';
import { runMicroBatch } from '../../../lambda/runtime/batch';
import { createJob, jobConfigOf } from '../../../lambda/runtime/job';
import { DEAD_LETTERS } from '../../../schema';
import { batchOf } from '../../support/events';
import { MemoryCheckpointStore, MemorySinkStore } from '../../support/memory-store';

const config = loadConfig(objectGetter({}), [${v}]);
// createJob also checks that create() builds the job the definition declares, as every entry point does.
const job = createJob(${v}, jobConfigOf(${v}, config));
const T0 = Date.UTC(2026, 4, 21, 2, 20, 0);

/** An MSK event with one record per value, on partition 0 from offset 0. */
const event = (values: ReadonlyArray<string | null>) =>
  batchOf(${constant(name)}_TOPIC.name, values, { timestamp: T0 });

function stores() {
  return { checkpoints: new MemoryCheckpointStore(), sink: new MemorySinkStore(), log: () => undefined };
}

describe('${name}', () => {
  it('is a job the registry can load: a definition and its Lambda handler', () => {
    expect(${v}.name).toBe('${name}');
    expect(typeof handler).toBe('function');
  });
`;
}

function transformTestSource(name: string): string {
  const c = constant(name);
  const p = pascal(name);
  return `${testPrelude(name, `${c}_TABLE, validate${p}`)}
  it('checks each record, naming the field that is wrong', () => {
    expect(validate${p}({ id: 'a', value: 1.5 })).toEqual({ id: 'a', value: 1.5 });
    expect(() => validate${p}({ id: '', value: 1 })).toThrow(/\\$\\.id/);
    expect(() => validate${p}({ id: 'a', value: 'x' })).toThrow(/\\$\\.value/);
  });

  it('writes a row per record, dead-letters a bad record with its reason, and goes on', async () => {
    const deps = stores();
    const report = await runMicroBatch(
      job,
      event([JSON.stringify({ id: 'a', value: 1 }), 'not json', JSON.stringify({ id: 'b', value: 2 })]),
      deps,
    );
    expect(report).toMatchObject({ recordsIn: 3, deadLettered: 1 });
    expect(deps.sink.rows(${c}_TABLE).map((r) => [r.id, r.value])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([expect.objectContaining({ reason: 'invalid-json' })]);
  });

  it('applies a redelivered batch once', async () => {
    const deps = stores();
    const batch = event([JSON.stringify({ id: 'a', value: 1 })]);
    await runMicroBatch(job, batch, deps);
    const again = await runMicroBatch(job, batch, deps);
    expect(again).toMatchObject({ recordsIn: 1, written: 0, duplicates: 1 });
    expect(deps.sink.rows(${c}_TABLE)).toHaveLength(1);
  });
});
`;
}

function windowTestSource(name: string): string {
  const c = constant(name);
  const p = pascal(name);
  return `${testPrelude(name, `${c}_TABLE, validate${p}`)}
  it('checks each record, naming the field that is wrong', () => {
    expect(validate${p}({ id: 'a', ts: T0, value: 1.5 })).toEqual({ id: 'a', ts: T0, value: 1.5 });
    expect(() => validate${p}({ id: 'a', ts: 'soon', value: 1 })).toThrow(/\\$\\.ts/);
    expect(() => validate${p}({ id: 'a', ts: T0, value: null })).toThrow(/\\$\\.value/);
  });

  it('folds the records of a window into one partial per key, and dead-letters a bad record', async () => {
    const deps = stores();
    const report = await runMicroBatch(
      job,
      event([
        JSON.stringify({ id: 'a', ts: T0 + 1000, value: 2 }),
        JSON.stringify({ id: 'a', ts: T0 + 2000, value: 4 }),
        '{"id": "a"}',
        JSON.stringify({ id: 'b', ts: T0 + 3000, value: 10 }),
      ]),
      deps,
    );
    expect(report).toMatchObject({ recordsIn: 4, deadLettered: 1 });
    const partials = deps.sink.rows(${c}_TABLE);
    expect(partials.map((r) => [r.id, Number(r.reading_count), r.value_sum, r.value_min, r.value_max])).toEqual(
      expect.arrayContaining([
        ['a', 2, 6, 2, 4],
        ['b', 1, 10, 10, 10],
      ]),
    );
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([expect.objectContaining({ reason: 'schema' })]);
  });

  it('applies a redelivered batch once', async () => {
    const deps = stores();
    const batch = event([JSON.stringify({ id: 'a', ts: T0 + 1000, value: 2 })]);
    await runMicroBatch(job, batch, deps);
    await runMicroBatch(job, batch, deps);
    expect(deps.sink.rows(${c}_TABLE).map((r) => Number(r.reading_count))).toEqual([1]);
  });
});
`;
}
