import { describe, expect, it } from 'vitest';
import {
  BATCH_LEDGER,
  layoutDrift,
  liveLayout,
  SENT_RECEIVED,
  tableLayout,
  type LiveColumn,
  type TableDef,
} from '../../schema';
import { ALL_TABLES } from '../support/jobs';
import { README_CLICKS } from '../support/clicks-table';

const CLICKS = README_CLICKS;

/** A row of system_schema.columns, as Cassandra writes it. */
function column(
  column_name: string,
  kind: string,
  position: number,
  type: string,
  clustering_order = 'none',
): LiveColumn {
  return { column_name, kind, position, clustering_order, type };
}

/** The live layout of `edit(CLICKS)`, against CLICKS as defined. */
function driftOf(edit: Partial<TableDef>): string[] {
  return layoutDrift(tableLayout(CLICKS), tableLayout({ ...CLICKS, ...edit }));
}

describe('tableLayout', () => {
  it('gives the partition key and the clustering columns in order, with their types and clustering order', () => {
    expect(tableLayout(BATCH_LEDGER)).toMatchObject({
      partitionKey: [
        { name: 'job', type: 'text' },
        { name: 'day', type: 'text' },
      ],
      clustering: [
        { name: 'started_at', type: 'timestamp', order: 'DESC' },
        { name: 'batch_id', type: 'text', order: 'ASC' },
      ],
    });
    expect(tableLayout(SENT_RECEIVED)).toEqual({
      partitionKey: [{ name: 'time_sent', type: 'text' }],
      clustering: [],
      regular: [{ name: 'time_received', type: 'text' }],
    });
  });

  it('names the key column a table does not define', () => {
    expect(() => tableLayout({ ...CLICKS, partitionKey: ['uri'] })).toThrow(
      "Table 'clicks' names key column 'uri', which it does not define.",
    );
  });
});

describe('liveLayout', () => {
  it('orders each part of the key by position, whatever the order of the rows', () => {
    const layout = liveLayout([
      column('seen_at', 'regular', -1, 'timestamp'),
      column('b', 'clustering', 1, 'int', 'asc'),
      column('y', 'partition_key', 1, 'text'),
      column('a', 'clustering', 0, 'bigint', 'desc'),
      column('x', 'partition_key', 0, 'text'),
    ]);
    expect(layout).toEqual({
      partitionKey: [
        { name: 'x', type: 'text' },
        { name: 'y', type: 'text' },
      ],
      clustering: [
        { name: 'a', type: 'bigint', order: 'DESC' },
        { name: 'b', type: 'int', order: 'ASC' },
      ],
      regular: [{ name: 'seen_at', type: 'timestamp' }],
    });
  });

  it("reads kind, clustering order and type in any case, and varchar as text (CQL's alias)", () => {
    expect(
      liveLayout([
        column('url', 'PARTITION_KEY', 0, 'VARCHAR'),
        column('ts', 'Clustering', 0, 'BigInt', 'DESC'),
        column('seen_at', 'static', -1, 'timestamp'),
      ]),
    ).toEqual(tableLayout(CLICKS));
  });
});

describe('layoutDrift', () => {
  it.each(ALL_TABLES.map((t) => [t.name, t]))('%s: none against its own layout', (_name, table) => {
    expect(layoutDrift(tableLayout(table), tableLayout(table))).toEqual([]);
  });

  it('finds a clustering column moved into the partition key, though the key columns are the same set', () => {
    // The reviewer's case: the definition became partitionKey ['url', 'ts']; the live table kept the old layout.
    const now = tableLayout({ ...CLICKS, partitionKey: ['url', 'ts'], clustering: [] });
    expect(layoutDrift(now, tableLayout(CLICKS))).toEqual([
      'its partition key is (url), where this version has (url, ts)',
      'its clustering columns are (ts DESC), where this version has none',
    ]);
  });

  it('finds a partition key column moved to the clustering columns', () => {
    expect(driftOf({ partitionKey: ['url', 'ts'], clustering: [] })).toEqual([
      'its partition key is (url, ts), where this version has (url)',
      'its clustering columns are none, where this version has (ts DESC)',
    ]);
  });

  it('finds the partition key columns in another order', () => {
    const now = tableLayout({ ...CLICKS, partitionKey: ['url', 'seen_at'] });
    const live = tableLayout({ ...CLICKS, partitionKey: ['seen_at', 'url'] });
    expect(layoutDrift(now, live)).toEqual([
      'its partition key is (seen_at, url), where this version has (url, seen_at)',
    ]);
  });

  it('finds the clustering columns in another order', () => {
    const now: TableDef = {
      ...CLICKS,
      clustering: [
        { name: 'ts', order: 'DESC' },
        { name: 'seen_at', order: 'ASC' },
      ],
    };
    const live = { ...now, clustering: [...now.clustering].reverse() };
    expect(layoutDrift(tableLayout(now), tableLayout(live))).toEqual([
      'its clustering columns are (seen_at ASC, ts DESC), where this version has (ts DESC, seen_at ASC)',
    ]);
  });

  it('finds another clustering order', () => {
    expect(driftOf({ clustering: [{ name: 'ts', order: 'ASC' }] })).toEqual([
      'its clustering columns are (ts ASC), where this version has (ts DESC)',
    ]);
  });

  it("finds a column's type changed, in the key or not", () => {
    expect(driftOf({ columns: CLICKS.columns.map((c) => ({ ...c, type: 'text' })) })).toEqual([
      'column ts is text, where this version has bigint',
      'column seen_at is text, where this version has timestamp',
    ]);
  });

  it('finds nothing in a regular column the live table lacks (setup adds it) or has beyond the definition', () => {
    expect(driftOf({ columns: CLICKS.columns.filter((c) => c.name !== 'seen_at') })).toEqual([]);
    expect(driftOf({ columns: [...CLICKS.columns, { name: 'old', type: 'int', doc: 'd' }] })).toEqual([]);
  });
});
