import { describe, expect, it } from 'vitest';
import {
  keyColumns,
  renderCompareAndSet,
  renderCreateKeyspace,
  renderCreateTable,
  renderInsert,
  SENT_RECEIVED,
  SENSOR_STATS,
  assertIdentifier,
  tableDefProblems,
} from '../../schema';
import { ALL_TABLES } from '../support/jobs';

describe('the typed schema', () => {
  it.each(ALL_TABLES.map((t) => [t.name, t]))('%s: every key column is a column', (_name, table) => {
    const names = table.columns.map((c) => c.name);
    for (const key of keyColumns(table)) expect(names).toContain(key);
    expect(new Set(names).size).toBe(names.length);
  });

  it("renders the tutorial's table exactly", () => {
    expect(renderCreateTable('test_time', SENT_RECEIVED, { target: 'cassandra' })).toBe(
      'CREATE TABLE IF NOT EXISTS test_time.sent_received (\n  "time_sent" text,\n  "time_received" text,\n  PRIMARY KEY (("time_sent"))\n)',
    );
  });

  it('renders clustering order and TTL, and Keyspaces custom properties only for Keyspaces', () => {
    const local = renderCreateTable('ks', SENSOR_STATS, { target: 'cassandra' });
    expect(local).toContain(
      'CLUSTERING ORDER BY ("window_start" ASC, "topic" ASC, "kafka_partition" ASC, "lane" ASC)',
    );
    expect(local).toContain(`default_time_to_live = ${SENSOR_STATS.defaultTtlSeconds}`);
    expect(local).not.toContain('custom_properties');
    expect(renderCreateTable('ks', SENSOR_STATS, { target: 'keyspaces', ttlSeconds: 60 })).toContain(
      "custom_properties = {'ttl': {'status': 'enabled'}}",
    );
  });

  it('renders replication per target', () => {
    expect(renderCreateKeyspace('ks', 'cassandra')).toContain("'SimpleStrategy', 'replication_factor': 1");
    expect(renderCreateKeyspace('ks', 'keyspaces')).toContain("'SingleRegionStrategy'");
  });

  it('renders plain and create-only upserts, never with a client timestamp', () => {
    expect(renderInsert('ks', SENT_RECEIVED)).toBe(
      'INSERT INTO ks.sent_received ("time_sent", "time_received") VALUES (?, ?)',
    );
    expect(renderInsert('ks', SENT_RECEIVED, { ifNotExists: true })).toMatch(
      /VALUES \(\?, \?\) IF NOT EXISTS$/,
    );
  });

  it('renders a compare-and-set of the regular columns by full key', () => {
    expect(renderCompareAndSet('ks', SENSOR_STATS, 'covered_offset')).toBe(
      'UPDATE ks.sensor_stats SET "window_end" = ?, "reading_count" = ?, "value_sum" = ?, "value_min" = ?, "value_max" = ?, "covered_offset" = ? ' +
        'WHERE "sensor_id" = ? AND "window_spec" = ? AND "window_start" = ? AND "topic" = ? AND "kafka_partition" = ? AND "lane" = ? IF "covered_offset" = ?',
    );
  });

  it('fails on a keyspace or table named after a CQL reserved word, in any case, and names the rule', () => {
    expect(() => assertIdentifier('table', 'select')).toThrow(
      "Invalid table 'select': it is a CQL reserved word; pick another name.",
    );
    expect(() => assertIdentifier('keyspace', 'Table')).toThrow(/CQL reserved word/);
    expect(() => assertIdentifier('table', 'selection')).not.toThrow();
    expect(tableDefProblems({ ...SENT_RECEIVED, name: 'order' })).toEqual([
      "its name 'order' is a CQL reserved word, which no statement can name unquoted",
    ]);
  });

  it('fails on an identifier that could inject CQL, saying what is allowed', () => {
    expect(() => assertIdentifier('keyspace', 'ks; DROP TABLE x')).toThrow(
      /Invalid keyspace 'ks; DROP TABLE x': use a letter followed by/,
    );
  });
});
