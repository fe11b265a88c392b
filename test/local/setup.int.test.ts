/**
 * `setup` on the real local Kafka and Cassandra (local/setup.ts): topics created, grown, and never shrunk, which it
 * says; tables created with the layout of their definition, and one an older definition created refused with
 * what differs.
 */
import type { Client } from 'cassandra-driver';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobDescriptor } from '../../config/jobs';
import { assertSetUp, ensureSchema, ensureTopics, SchemaDriftError } from '../../local/setup';
import { liveLayout, tableLayout, type LiveColumn, type TableDef, type TableLayout } from '../../schema';
import {
  closeCassandra,
  deleteTopicWhenFinished,
  endpoints,
  freshKeyspace,
  uniqueName,
} from '../support/integration';
import { ALL_TABLES } from '../support/jobs';
import { README_CLICKS } from '../support/clicks-table';

describe('ensureTopics', () => {
  it('creates a topic, grows it, and reports one the config gives fewer partitions than it has', async () => {
    // GIVEN a topic nobody has
    const topic = uniqueName('it-setup-');
    deleteTopicWhenFinished(topic);
    const plan = (partitions: number) => [{ topic, partitions }];

    // WHEN it is set up with 2 partitions, then 3, then 1
    const created = await ensureTopics(endpoints.kafkaBrokers, plan(2));
    const grown = await ensureTopics(endpoints.kafkaBrokers, plan(3));
    const shrunk = await ensureTopics(endpoints.kafkaBrokers, plan(1));

    // THEN
    expect(created).toEqual({ created: [topic], grown: [], larger: [] });
    expect(grown).toEqual({ created: [], grown: [topic], larger: [] });
    expect(shrunk).toEqual({ created: [], grown: [], larger: [{ topic, partitions: 1, has: 3 }] });
  });
});

const CLICKS = README_CLICKS;

function clicksJob(table: TableDef): JobDescriptor {
  return {
    name: 'clicks',
    doc: 'One click per url and event time.',
    kind: 'transform',
    topics: [],
    tables: [table],
    options: {},
  };
}

/** The layout of each table of `keyspace`, as system_schema.columns gives it. */
async function liveLayouts(client: Client, keyspace: string): Promise<Map<string, TableLayout>> {
  const rs = await client.execute(
    'SELECT table_name, column_name, kind, position, clustering_order, type FROM system_schema.columns ' +
      'WHERE keyspace_name = ?',
    [keyspace],
  );
  const rows = new Map<string, LiveColumn[]>();
  for (const row of rs.rows) {
    const table = row.get('table_name') as string;
    rows.set(table, [...(rows.get(table) ?? []), row as unknown as LiveColumn]);
  }
  return new Map([...rows].map(([table, columns]) => [table, liveLayout(columns)]));
}

describe('ensureSchema on the real Cassandra, against a table an older definition created', () => {
  afterAll(closeCassandra);

  it('creates every table of the schema with the layout of its definition, clustering order and types included', async () => {
    const { client, keyspace } = await freshKeyspace();
    const live = await liveLayouts(client, keyspace);
    // The regular columns come back in name order; only the key's order is part of the layout.
    const regularByName = (layout: TableLayout | undefined) =>
      layout && { ...layout, regular: [...layout.regular].sort((a, b) => a.name.localeCompare(b.name)) };
    for (const table of ALL_TABLES)
      expect(regularByName(live.get(table.name)), table.name).toEqual(regularByName(tableLayout(table)));
  });

  it('refuses a clustering column moved into the partition key, naming both layouts, and leaves the table and its rows', async () => {
    // GIVEN clicks set up as partitionKey ['url'] + clustering [ts DESC], with a row
    const { client, keyspace, config } = await freshKeyspace();
    await ensureSchema(client, config, [clicksJob(CLICKS)]);
    await client.execute(
      `INSERT INTO ${keyspace}.clicks (url, ts, seen_at) VALUES (?, ?, ?)`,
      ['https://example.com/', 1_700_000_000_000n, new Date()],
      { prepare: true },
    );

    // WHEN its definition becomes partitionKey ['url', 'ts'] and setup runs again
    const edited = clicksJob({ ...CLICKS, partitionKey: ['url', 'ts'], clustering: [] });
    const failed = await ensureSchema(client, config, [edited]).catch((error: unknown) => error);

    // THEN it refuses, saying what differs and the ways out that keep the records
    expect(failed).toBeInstanceOf(SchemaDriftError);
    expect((failed as Error).message).toBe(
      `Table ${keyspace}.clicks was created by an older schema: its partition key is (url), where this version ` +
        'has (url, ts); its clustering columns are (ts DESC), where this version has none. Cassandra cannot ' +
        "change a table's primary key, clustering order or column types in place. Wipe the local data, Kafka's " +
        'records included, with `microbatch reset`, then run again; or, to fill the new table from the records ' +
        "still in Kafka, rename the table and its job (a job's checkpoints go by its name, so a renamed job reads " +
        'its topics from the start). Dropping the table alone would lose what it held: the checkpoints have ' +
        'passed those records, so a table created again never gets them (replay counts them as duplicates).',
    );
    // AND the commands that read or replay the job refuse it the same way
    await expect(assertSetUp(client, keyspace, null, [edited])).rejects.toThrow((failed as Error).message);
    // AND the table keeps its layout and its row
    expect((await liveLayouts(client, keyspace)).get('clicks')).toEqual(tableLayout(CLICKS));
    expect((await client.execute(`SELECT url FROM ${keyspace}.clicks`)).rowLength).toBe(1);
  });

  it('refuses another clustering order and a changed column type', async () => {
    const { client, keyspace, config } = await freshKeyspace();
    await ensureSchema(client, config, [clicksJob(CLICKS)]);

    const edited: TableDef = {
      ...CLICKS,
      columns: CLICKS.columns.map((c) => (c.name === 'seen_at' ? { ...c, type: 'bigint' } : c)),
      clustering: [{ name: 'ts', order: 'ASC' }],
    };
    await expect(ensureSchema(client, config, [clicksJob(edited)])).rejects.toThrow(
      new RegExp(
        `^Table ${keyspace}\\.clicks was created by an older schema: its clustering columns are \\(ts DESC\\), ` +
          'where this version has \\(ts ASC\\); column seen_at is timestamp, where this version has bigint\\. ',
      ),
    );
  });
});
