/**
 * Creates what the pipeline needs on the local services, from the same typed schema the CDK app deploys:
 * the keyspace and tables (CQL DDL rendered by schema/cql.ts) and the topics (partitions from the config).
 * Both are idempotent, and topics only ever grow.
 */
import { Kafka, logLevel, withAdmin, type Admin } from '../lambda/runtime/kafkajs';
import type { Client } from 'cassandra-driver';
import {
  col,
  layoutDrift,
  liveLayout,
  qualified,
  regularColumns,
  renderCreateKeyspace,
  renderCreateTable,
  RUNTIME_TABLE_DEFS,
  tableLayout,
  type ColumnDef,
  type LiveColumn,
  type TableDef,
} from '../schema';
import type { PipelineConfig } from '../config';
import { pipelineTables, topicsOf, type JobDescriptor } from '../config/jobs';
import { createTopicsWithLeaders } from '../lambda/runtime/kafka-topics';

/** Creates the keyspace, the jobs' tables and the runtime's own; returns the statements it ran. */
export async function ensureSchema(
  client: Client,
  config: Pick<PipelineConfig, 'keyspace'>,
  jobs: readonly JobDescriptor[],
): Promise<string[]> {
  const tables = pipelineTables(jobs);
  const statements = [
    renderCreateKeyspace(config.keyspace.name, 'cassandra'),
    ...tables.map((t) =>
      renderCreateTable(config.keyspace.name, t, {
        target: 'cassandra',
        ttlSeconds: config.keyspace.ttlSeconds[t.name],
      }),
    ),
  ];
  // The driver waits for schema agreement after each DDL statement (protocolOptions.maxSchemaAgreementWaitSeconds).
  // Not prepared: Keyspaces prepares DML only, and the strict mode holds the local run to that.
  for (const cql of statements) await client.execute(cql, [], { prepare: false });
  statements.push(...(await upgradeTables(client, config.keyspace.name, tables)));
  return statements;
}

/** A command that reads or replays a job the services were never set up for: what is missing, and `setup`. */
export class NotSetUpError extends Error {
  override readonly name = 'NotSetUpError';
}

/**
 * Refuses to go on for jobs whose tables (and, given brokers, topics) do not exist, or whose tables lack columns
 * of this version's schema (a job edited since its last `setup`), naming what is missing, rather than failing on
 * the first query with the driver's "Undefined column name" and its stack, or retrying a topic Kafka does not have
 * for a minute and a half. A table whose layout differs from its definition fails first, with the
 * `SchemaDriftError` setup gives: running setup would not fix it, and the job would read and write a layout its
 * definition no longer has.
 */
export async function assertSetUp(
  client: Client,
  keyspace: string,
  brokers: readonly string[] | null,
  jobs: readonly JobDescriptor[],
): Promise<void> {
  const live = await liveColumns(client, keyspace);
  const tables = pipelineTables(jobs);
  assertSameLayout(keyspace, tables, live);
  const missing = tables.filter((t) => !live.has(t.name)).map((t) => `table ${keyspace}.${t.name}`);
  // `setup` adds the regular columns a table lacks.
  const outdated = tables.flatMap((t) => {
    const lacks = lackedColumns(t, live).map((c) => c.name);
    return lacks.length
      ? [
          `table ${keyspace}.${t.name} lacks the column${lacks.length === 1 ? '' : 's'} ${lacks.join(', ')} ` +
            'of this version',
        ]
      : [];
  });
  if (brokers) {
    const topics = new Set(await withSetupAdmin(brokers, (admin) => admin.listTopics()));
    missing.push(
      ...topicsOf(jobs)
        .filter((t) => !topics.has(t.name))
        .map((t) => `topic ${t.name}`),
    );
  }
  const problems = [
    ...(missing.length ? [`${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist`] : []),
    ...outdated,
  ];
  if (problems.length)
    throw new NotSetUpError(
      `${jobs.map((j) => j.name).join(', ')} ${jobs.length === 1 ? 'is' : 'are'} not set up: ${problems.join('; ')}. ` +
        "Run `microbatch setup` (with the same -c options), which creates every job's tables and topics and adds " +
        'the columns a table lacks, then this command again.',
    );
}

/** Raised when a local table was created by an older schema in a way that cannot be altered in place. */
export class SchemaDriftError extends Error {
  override readonly name = 'SchemaDriftError';
}

/**
 * The columns of every table of `keyspace`, by table, with what decides the table's layout (schema/layout.ts):
 * each column's kind, position, clustering order and type. Keyspaces has the same `system_schema.columns`.
 */
async function liveColumns(client: Client, keyspace: string): Promise<Map<string, LiveColumn[]>> {
  const rs = await client.execute(
    'SELECT table_name, column_name, kind, position, clustering_order, type FROM system_schema.columns ' +
      'WHERE keyspace_name = ?',
    [keyspace],
    { prepare: true },
  );
  const tables = new Map<string, LiveColumn[]>();
  for (const row of rs.rows) {
    const table = row.get('table_name') as string;
    if (!tables.has(table)) tables.set(table, []);
    tables.get(table)!.push({
      column_name: row.get('column_name') as string,
      kind: row.get('kind') as string,
      position: row.get('position') as number,
      clustering_order: row.get('clustering_order') as string,
      type: row.get('type') as string,
    });
  }
  return tables;
}

/**
 * The regular columns of `table` its live table lacks (`setup` adds them); none for a table that does not exist.
 * Key columns are not among them: a key column the live table lacks is a layout drift (`assertSameLayout`).
 */
function lackedColumns(table: TableDef, live: ReadonlyMap<string, readonly LiveColumn[]>): ColumnDef[] {
  const have = new Set((live.get(table.name) ?? []).map((c) => c.column_name));
  return have.size ? regularColumns(table).filter((c) => !have.has(c.name)) : [];
}

/**
 * Throws a `SchemaDriftError` naming every one of `tables` whose live table has another layout than its
 * definition: its partition key columns in order, its clustering columns in order with their clustering order, or
 * a column's type. Comparing the key columns' names alone let `partitionKey ['url'] + clustering [ts]` edited into
 * `partitionKey ['url', 'ts']` pass, and the job ran on the old layout. Every table at once: naming the first alone
 * had the user find the others one `setup` run at a time.
 */
function assertSameLayout(
  keyspace: string,
  tables: readonly TableDef[],
  live: ReadonlyMap<string, readonly LiveColumn[]>,
): void {
  const drifted = tables.flatMap((table) => {
    const have = live.get(table.name);
    const drift = have ? layoutDrift(tableLayout(table), liveLayout(have)) : [];
    return drift.length ? [{ name: `${keyspace}.${table.name}`, table, drift }] : [];
  });
  if (!drifted.length) return;
  const [only] = drifted;
  const names = drifted.map((d) => d.name);
  // Not "drop the table": the checkpoints have passed what the table held, so a new one would never get it.
  // Renaming is for a job's table: the runtime's own has no job to rename.
  const renamed = drifted
    .filter((d) => !RUNTIME_TABLE_DEFS.some((t) => t.name === d.table.name))
    .map((d) => d.name);
  throw new SchemaDriftError(
    (drifted.length === 1
      ? `Table ${only!.name} was created by an older schema: ${only!.drift.join('; ')}.`
      : `Tables ${names.slice(0, -1).join(', ')} and ${names.at(-1)!} were created by an older schema: ` +
        `${drifted.map((d) => `in ${d.name}, ${d.drift.join('; ')}`).join('; ')}.`) +
      " Cassandra cannot change a table's primary key, clustering order or column types in place. Wipe the local " +
      "data, Kafka's records included, with `microbatch reset`, then run again" +
      (!renamed.length
        ? '.'
        : '; or, to fill the new table from the records still in Kafka, rename the table' +
          (drifted.length === 1 ? '' : ` (${renamed.join(', ')})`) +
          " and its job (a job's checkpoints go by its name, so a renamed job reads its topics from the start).") +
      ' Dropping the table alone would lose what it held: the checkpoints have passed those records, so a ' +
      'table created again never gets them (replay counts them as duplicates).',
  );
}

/**
 * Brings tables created by an older version of the schema up to date: `CREATE TABLE IF NOT EXISTS` leaves an
 * existing table as it was. A missing regular column is added (ALTER TABLE ... ADD); a different layout (primary
 * key, clustering order, a column's type) cannot be altered, so it fails with the ways out that lose nothing
 * unawares: `microbatch reset` (the local data is disposable), or, for a job's table, a new table under a new
 * job name.
 */
async function upgradeTables(
  client: Client,
  keyspace: string,
  tables: readonly TableDef[],
): Promise<string[]> {
  const live = await liveColumns(client, keyspace);
  // Every table checked before any is altered: a refused setup alters no table.
  assertSameLayout(keyspace, tables, live);
  const altered: string[] = [];
  for (const table of tables) {
    for (const column of lackedColumns(table, live)) {
      const cql = `ALTER TABLE ${qualified(keyspace, table)} ADD ${col(column.name)} ${column.type}`;
      await client.execute(cql, [], { prepare: false });
      altered.push(cql);
    }
  }
  return altered;
}

export interface TopicPlan {
  readonly topic: string;
  readonly partitions: number;
}

export async function ensureTopics(
  brokers: readonly string[],
  topics: readonly TopicPlan[],
): Promise<{ created: string[]; grown: string[]; larger: Array<TopicPlan & { readonly has: number }> }> {
  return withSetupAdmin(brokers, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length) {
      // A single local broker: replication factor 1. A topic created meanwhile by someone else is fine.
      await createTopicsWithLeaders(
        admin,
        missing.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })),
      );
    }
    const grown: string[] = [];
    const larger: Array<TopicPlan & { readonly has: number }> = [];
    const present = topics.filter((t) => existing.has(t.topic));
    if (present.length) {
      const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.topic) });
      for (const t of present) {
        const have = meta.topics.find((m) => m.name === t.topic)?.partitions.length ?? 0;
        if (have < t.partitions) {
          await admin.createPartitions({ topicPartitions: [{ topic: t.topic, count: t.partitions }] });
          grown.push(t.topic);
        } else if (have > t.partitions) larger.push({ ...t, has: have });
      }
    }
    return { created: missing.map((t) => t.topic), grown, larger };
  });
}

/** A connected kafkajs admin for `fn`, disconnected after it whatever happens. */
function withSetupAdmin<T>(brokers: readonly string[], fn: (admin: Admin) => Promise<T>): Promise<T> {
  return withAdmin(
    new Kafka({ clientId: 'microbatch-setup', brokers: [...brokers], logLevel: logLevel.ERROR }),
    fn,
  );
}

/** Every topic of the jobs, with the partitions the config gives it (config/index.ts reads one per topic). */
export function topicPlan(config: Pick<PipelineConfig, 'topics'>): TopicPlan[] {
  return Object.entries(config.topics).map(([topic, t]) => ({ topic, partitions: t.partitions }));
}
