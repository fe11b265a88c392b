/**
 * `setup` on a table an older schema created with another layout (the roles, order and clustering order of its
 * key columns, or a column's type): it must refuse, say what differs, and name ways out that do not lose the
 * records already read unawares. The same refusal on the real Cassandra is in test/local/setup.int.test.ts and
 * test/lambda/runtime/cassandra-store.int.test.ts.
 */
import type { Client } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import type { JobDescriptor } from '../../config/jobs';
import { assertSetUp, ensureSchema, NotSetUpError, SchemaDriftError } from '../../local/setup';
import { DEAD_LETTERS, RUNTIME_TABLE_DEFS, SENT_RECEIVED, type TableDef } from '../../schema';
import { SHIPPED_JOBS } from '../support/jobs';
import { README_CLICKS } from '../support/clicks-table';

/**
 * The rows `system_schema.columns` holds for `table` once Cassandra has created it, written from Cassandra's
 * rules, not from the code under test: positions count within the partition key and within the clustering
 * columns, a regular column has position -1 and clustering order 'none'.
 */
function systemSchemaRows(table: TableDef): Array<Record<string, unknown>> {
  const type = (name: string) => table.columns.find((c) => c.name === name)!.type;
  const keys = new Set([...table.partitionKey, ...table.clustering.map((c) => c.name)]);
  return [
    ...table.partitionKey.map((name, position) => ({
      column_name: name,
      kind: 'partition_key',
      position,
      clustering_order: 'none',
      type: type(name),
    })),
    ...table.clustering.map((c, position) => ({
      column_name: c.name,
      kind: 'clustering',
      position,
      clustering_order: c.order.toLowerCase(),
      type: type(c.name),
    })),
    ...table.columns
      .filter((c) => !keys.has(c.name))
      .map((c) => ({
        column_name: c.name,
        kind: 'regular',
        position: -1,
        clustering_order: 'none',
        type: c.type,
      })),
  ].map((row) => ({ table_name: table.name, ...row }));
}

/** A client whose keyspace holds exactly `tables` (CREATE TABLE IF NOT EXISTS changes nothing), and what it ran. */
function clientWith(tables: readonly TableDef[]): { client: Client; executed: string[] } {
  const rows = tables.flatMap(systemSchemaRows).map((row) => ({ get: (name: string) => row[name] }));
  const executed: string[] = [];
  const client = {
    execute: async (cql: string) => {
      executed.push(cql);
      return { rows: cql.includes('system_schema.columns') ? rows : [] };
    },
  };
  return { client: client as unknown as Client, executed };
}

const keyspace = { name: 'ks', ttlSeconds: {} } as never;

/** A job of one's own writing `table`: the README's clicks, say. */
function jobOf(table: TableDef): JobDescriptor {
  return { name: 'clicks', doc: 'd', kind: 'transform', topics: [], tables: [table], options: {} };
}

async function setupError(live: readonly TableDef[], jobs: readonly JobDescriptor[]): Promise<string> {
  const failed = await ensureSchema(clientWith(live).client, { keyspace }, jobs).catch(
    (error: unknown) => error,
  );
  expect(failed).toBeInstanceOf(SchemaDriftError);
  return (failed as Error).message;
}

const CLICKS = README_CLICKS;

const NO_CHANGE_IN_PLACE =
  " Cassandra cannot change a table's primary key, clustering order or column types in place.";

const JOB_WAYS_OUT =
  " Wipe the local data, Kafka's records included, with `microbatch reset`, then run again; or, to fill the new " +
  "table from the records still in Kafka, rename the table and its job (a job's checkpoints go by its name, so a " +
  'renamed job reads its topics from the start).';

const DROP_WARNING =
  ' Dropping the table alone would lose what it held: the checkpoints have passed those records, so a table ' +
  'created again never gets them (replay counts them as duplicates).';

describe('ensureSchema on a table whose primary key changed', () => {
  it("GIVEN a job's table THEN names reset and a renamed job, and warns that dropping the table loses its rows", async () => {
    // (Seen live: a job's table dropped and set up again stayed empty, and `replay --from earliest` applied none
    // of the 17 records in Kafka; the same job under a new name filled a new table with all of them.)
    const old = { ...SENT_RECEIVED, partitionKey: ['time_received'] };
    expect(await setupError([old], SHIPPED_JOBS)).toBe(
      `Table ks.${SENT_RECEIVED.name} was created by an older schema: its partition key is (time_received), ` +
        'where this version has (time_sent).' +
        NO_CHANGE_IN_PLACE +
        JOB_WAYS_OUT +
        DROP_WARNING,
    );
  });

  it('GIVEN a table of the runtime THEN names reset alone: no job to rename', async () => {
    const old = { ...DEAD_LETTERS, partitionKey: ['job'], clustering: [] };
    expect(await setupError([old], SHIPPED_JOBS)).toMatch(
      new RegExp(
        `^Table ks\\.${DEAD_LETTERS.name} was created by an older schema: its partition key is \\(job\\), ` +
          'where this version has \\(job, topic, kafka_partition\\); .* with `microbatch reset`, then run ' +
          'again\\. Dropping the table alone',
      ),
    );
  });

  it('GIVEN a clustering column moved into the partition key THEN refuses, naming both layouts', async () => {
    // The reviewer's case: partitionKey ['url'] + clustering [ts] became partitionKey ['url', 'ts']. The key
    // columns are the same set, so a check of their names alone let the job run on the old layout.
    const edited = { ...CLICKS, partitionKey: ['url', 'ts'], clustering: [] };
    expect(await setupError([CLICKS], [jobOf(edited)])).toBe(
      'Table ks.clicks was created by an older schema: its partition key is (url), where this version has ' +
        '(url, ts); its clustering columns are (ts DESC), where this version has none.' +
        NO_CHANGE_IN_PLACE +
        JOB_WAYS_OUT +
        DROP_WARNING,
    );
  });

  it('GIVEN a partition key column moved to the clustering columns THEN refuses', async () => {
    const old = { ...CLICKS, partitionKey: ['url', 'ts'], clustering: [] };
    expect(await setupError([old], [jobOf(CLICKS)])).toMatch(
      /^Table ks\.clicks was created by an older schema: its partition key is \(url, ts\), where this version has \(url\); its clustering columns are none, where this version has \(ts DESC\)\./,
    );
  });

  it('GIVEN the partition key columns in another order THEN refuses', async () => {
    const now = { ...CLICKS, partitionKey: ['url', 'seen_at'] };
    const old = { ...CLICKS, partitionKey: ['seen_at', 'url'] };
    expect(await setupError([old], [jobOf(now)])).toMatch(
      /: its partition key is \(seen_at, url\), where this version has \(url, seen_at\)\. /,
    );
  });

  it('GIVEN the clustering columns in another order THEN refuses', async () => {
    const now: TableDef = {
      ...CLICKS,
      clustering: [
        { name: 'ts', order: 'DESC' },
        { name: 'seen_at', order: 'ASC' },
      ],
    };
    const old = { ...now, clustering: [...now.clustering].reverse() };
    expect(await setupError([old], [jobOf(now)])).toMatch(
      /: its clustering columns are \(seen_at ASC, ts DESC\), where this version has \(ts DESC, seen_at ASC\)\. /,
    );
  });

  it('GIVEN another clustering order THEN refuses', async () => {
    const old: TableDef = { ...CLICKS, clustering: [{ name: 'ts', order: 'ASC' }] };
    expect(await setupError([old], [jobOf(CLICKS)])).toMatch(
      /: its clustering columns are \(ts ASC\), where this version has \(ts DESC\)\. /,
    );
  });

  it("GIVEN a column's type changed THEN refuses, key column or not", async () => {
    const old: TableDef = {
      ...CLICKS,
      columns: CLICKS.columns.map((c) => ({ ...c, type: c.name === 'url' ? c.type : 'text' })),
    };
    expect(await setupError([old], [jobOf(CLICKS)])).toMatch(
      /: column ts is text, where this version has bigint; column seen_at is text, where this version has timestamp\. /,
    );
  });

  it("GIVEN a job's table and a runtime table whose layouts changed THEN names both in one refusal, not one a run", async () => {
    const clicks = { ...CLICKS, partitionKey: ['url', 'ts'], clustering: [] };
    const dead = { ...DEAD_LETTERS, partitionKey: ['job'], clustering: [] };
    const tables = [clicks, dead, ...RUNTIME_TABLE_DEFS.filter((t) => t !== DEAD_LETTERS)];
    const message = await setupError(tables, [jobOf(CLICKS)]);
    expect(message).toMatch(
      new RegExp(
        '^Tables ks\\.clicks and ks\\.dead_letters were created by an older schema: in ks\\.clicks, its ' +
          'partition key is \\(url, ts\\), where this version has \\(url\\); .*; in ks\\.dead_letters, its ' +
          'partition key is \\(job\\), where this version has \\(job, topic, kafka_partition\\); .*\\.' +
          NO_CHANGE_IN_PLACE.replace(/[.()]/g, '\\$&') +
          ' ',
      ),
    );
    // The ways out: reset for both, renaming for the job's table only; the runtime's has no job to rename.
    expect(message).toContain(
      "Wipe the local data, Kafka's records included, with `microbatch reset`, then run again; or, to fill the " +
        "new table from the records still in Kafka, rename the table (ks.clicks) and its job (a job's " +
        'checkpoints go by its name, so a renamed job reads its topics from the start).' +
        DROP_WARNING,
    );
  });

  it('GIVEN two tables of jobs whose layouts changed THEN names both, and renaming for each', async () => {
    const views: TableDef = { ...CLICKS, name: 'views' };
    const job = { ...jobOf(CLICKS), tables: [CLICKS, views] };
    const old = [CLICKS, views].map((t) => ({ ...t, clustering: [{ name: 'ts', order: 'ASC' as const }] }));
    const message = await setupError(old, [job]);
    expect(message).toMatch(
      /^Tables ks\.clicks and ks\.views were created by an older schema: in ks\.clicks, its clustering columns are \(ts ASC\), where this version has \(ts DESC\); in ks\.views, its clustering columns are \(ts ASC\), where this version has \(ts DESC\)\. /,
    );
    expect(message).toContain('rename the table (ks.clicks, ks.views) and its job (');
  });

  it('GIVEN one table that lacks a column and a later one whose layout changed THEN refuses and alters neither', async () => {
    // GIVEN a job of two tables: clicks lacks seen_at (setup would add it), views was keyed otherwise
    const views: TableDef = { ...CLICKS, name: 'views' };
    const job = { ...jobOf(CLICKS), tables: [CLICKS, views] };
    const lacking = { ...CLICKS, columns: CLICKS.columns.filter((c) => c.name !== 'seen_at') };
    const { client, executed } = clientWith([
      lacking,
      { ...views, partitionKey: ['url', 'ts'], clustering: [] },
    ]);

    // WHEN setup runs
    const failed = await ensureSchema(client, { keyspace }, [job]).catch((error: unknown) => error);

    // THEN it refuses for views, and clicks is left as it was: a refused setup leaves no table half upgraded
    expect(failed).toBeInstanceOf(SchemaDriftError);
    expect((failed as Error).message).toMatch(/^Table ks\.views was created by an older schema: /);
    expect(executed.filter((cql) => cql.startsWith('ALTER'))).toEqual([]);
  });

  it('GIVEN the same layout THEN adds the regular columns the table lacks, and nothing else', async () => {
    const old = { ...CLICKS, columns: CLICKS.columns.filter((c) => c.name !== 'seen_at') };
    const { client, executed } = clientWith([old]);
    const ran = await ensureSchema(client, { keyspace }, [jobOf(CLICKS)]);
    expect(ran.filter((cql) => cql.startsWith('ALTER'))).toEqual([
      'ALTER TABLE ks.clicks ADD "seen_at" timestamp',
    ]);
    expect(executed.filter((cql) => cql.startsWith('ALTER'))).toHaveLength(1);
  });
});

describe('assertSetUp on a table whose layout changed', () => {
  it('refuses as setup does: setup cannot fix it, so "run setup" would be the wrong advice', async () => {
    const old = { ...CLICKS, partitionKey: ['url', 'ts'], clustering: [] };
    const tables = [old, ...RUNTIME_TABLE_DEFS];
    const failed = await assertSetUp(clientWith(tables).client, 'ks', null, [jobOf(CLICKS)]).catch(
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(SchemaDriftError);
    expect((failed as Error).message).toMatch(
      /^Table ks\.clicks was created by an older schema: its partition key is \(url, ts\), where this version has \(url\);.*rename the table and its job/,
    );
  });

  it('GIVEN a table whose layout changed and another that does not exist THEN the layout first: setup would not fix it', async () => {
    // GIVEN clicks keyed otherwise, and views never created
    const views: TableDef = { ...CLICKS, name: 'views' };
    const job = { ...jobOf(CLICKS), tables: [CLICKS, views] };
    const old = { ...CLICKS, partitionKey: ['url', 'ts'], clustering: [] };

    // WHEN a command that reads the job checks it
    const failed = await assertSetUp(clientWith([old, ...RUNTIME_TABLE_DEFS]).client, 'ks', null, [
      job,
    ]).catch((error: unknown) => error);

    // THEN the drift, not "run setup", which would create views and leave clicks as it is
    expect(failed).toBeInstanceOf(SchemaDriftError);
    expect((failed as Error).message).toMatch(/^Table ks\.clicks was created by an older schema: /);
  });

  it('still says "not set up" for a table that does not exist', async () => {
    const failed = await assertSetUp(clientWith([]).client, 'ks', null, [jobOf(CLICKS)]).catch(
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(NotSetUpError);
  });
});
