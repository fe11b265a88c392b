import { types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { parseStatement } from '../../../lambda/runtime/cql-statement';
import {
  checkBatch,
  checkStatement,
  DIFFERENCES,
  KeyspacesIncompatibleError,
  LIMITS,
  strictFromEnv,
  type DifferenceId,
  type StatementContext,
  type TableShape,
} from '../../../lambda/runtime/keyspaces-strict';
import { renderCompareAndSet, renderInsert, SENSOR_STATS, SENT_RECEIVED } from '../../../schema';

const C = types.consistencies;
const NOW = 1_800_000_000_000_000n; // µs

const SHAPE: TableShape = {
  partitionKeys: [{ name: 'job', type: 'text' }],
  clusteringKeys: [{ name: 'kafka_offset', type: 'bigint' }],
  columns: [
    { name: 'job', type: 'text' },
    { name: 'kafka_offset', type: 'bigint' },
    { name: 'value', type: 'text' },
  ],
  defaultTtl: 0,
};

/** The violations of one statement, by difference id; the context defaults to what our code sends. */
function check(cql: string, ctx: Partial<Omit<StatementContext, 'statement'>> = {}): DifferenceId[] {
  return checkStatement({
    statement: parseStatement(cql),
    consistency: C.localQuorum,
    serialConsistency: undefined,
    prepared: true,
    params: [],
    table: { shape: SHAPE, features: { ttlEnabled: false, clientSideTimestamps: false } },
    nowMicros: NOW,
    ...ctx,
  }).map((e) => e.differenceId);
}

describe('the Keyspaces-strict checks', () => {
  it('accepts every statement shape the pipeline sends, as it sends them', () => {
    const params = ['2026-01-01 00:00:00', '2026-01-01 00:00:05'];
    expect(check(renderInsert('ks', SENT_RECEIVED), { params })).toEqual([]);
    expect(check(renderInsert('ks', SENT_RECEIVED, { ifNotExists: true }), { params })).toEqual([]);
    expect(check(renderCompareAndSet('ks', SENSOR_STATS, 'covered_offset'))).toEqual([]);
    expect(check('SELECT next_offset FROM ks.t WHERE job = ? AND kafka_partition = ?')).toEqual([]);
    expect(
      check('SELECT * FROM ks.t WHERE job = ? ORDER BY kafka_offset DESC LIMIT ?', {
        consistency: C.localOne,
      }),
    ).toEqual([]);
    expect(check('SELECT release_version FROM system.local', { table: undefined })).toEqual([]);
    expect(
      check('SELECT status FROM system_schema_mcs.tables WHERE keyspace_name = ?', { table: undefined }),
    ).toEqual([]);
    expect(
      check('CREATE TABLE IF NOT EXISTS ks.t (a text PRIMARY KEY)', { prepared: false, table: undefined }),
    ).toEqual([]);
  });

  describe('consistency', () => {
    it('refuses a read at QUORUM, ALL, TWO, THREE or EACH_QUORUM', () => {
      for (const level of [C.quorum, C.all, C.two, C.three, C.eachQuorum])
        expect(check('SELECT * FROM ks.t WHERE job = ?', { consistency: level })).toEqual([
          'read-consistency',
        ]);
    });
    it('refuses a write at anything but LOCAL_QUORUM', () => {
      for (const level of [C.one, C.localOne, C.quorum, C.any, C.all])
        expect(
          check('UPDATE ks.t SET value = ? WHERE job = ? AND kafka_offset = ?', { consistency: level }),
        ).toEqual(['write-consistency']);
    });
    it('refuses a serial read, and any serial consistency in a request', () => {
      expect(check('SELECT * FROM ks.t WHERE job = ?', { consistency: C.localSerial })).toEqual([
        'serial-consistency',
      ]);
      expect(check('SELECT * FROM ks.t WHERE job = ?', { consistency: C.serial })).toEqual([
        'serial-consistency',
      ]);
      expect(
        check('UPDATE ks.t SET value = ? WHERE job = ? AND kafka_offset = ? IF value = ?', {
          serialConsistency: C.localSerial,
        }),
      ).toEqual(['serial-consistency']);
    });
  });

  describe('timestamps', () => {
    it('refuses USING TIMESTAMP on a table without client-side timestamps: the design that wrote offsets as write times', () => {
      expect(
        check('INSERT INTO ks.t (job, kafka_offset, value) VALUES (?, ?, ?) USING TIMESTAMP ?', {
          params: ['j', 1n, 'v', 41n],
        }),
      ).toEqual(['client-side-timestamps']);
      expect(
        check('UPDATE ks.t USING TIMESTAMP 41 SET value = ? WHERE job = ? AND kafka_offset = ?'),
      ).toEqual(['client-side-timestamps']);
      expect(check('DELETE FROM ks.t USING TIMESTAMP ? WHERE job = ?')).toEqual(['client-side-timestamps']);
    });
    it('refuses USING TIMESTAMP on a table the metadata does not know yet, as on every table of the schema', () => {
      expect(
        check('UPDATE ks.t USING TIMESTAMP 41 SET value = ? WHERE job = ?', { table: undefined }),
      ).toEqual(['client-side-timestamps']);
    });
    it('refuses a timestamp in the query options, the same thing in the protocol', () => {
      expect(
        check('UPDATE ks.t SET value = ? WHERE job = ? AND kafka_offset = ?', { timestamp: 41 }),
      ).toEqual(['client-side-timestamps']);
    });
    it('refuses WRITETIME() on a table without client-side timestamps', () => {
      expect(check('SELECT WRITETIME(value) FROM ks.t WHERE job = ?')).toEqual(['client-side-timestamps']);
    });
    it('on a table with client-side timestamps, refuses one more than 2 days old or 5 minutes ahead', () => {
      const cst = { shape: SHAPE, features: { ttlEnabled: false, clientSideTimestamps: true } };
      const at = (micros: bigint) =>
        check('UPDATE ks.t USING TIMESTAMP ? SET value = ? WHERE job = ? AND kafka_offset = ?', {
          table: cst,
          params: [micros, 'v', 'j', 1n],
        });
      expect(at(NOW - LIMITS.timestampPastMicros + 1n)).toEqual([]);
      expect(at(NOW + LIMITS.timestampFutureMicros)).toEqual([]);
      expect(at(NOW - LIMITS.timestampPastMicros - 1_000_000n)).toEqual(['timestamp-window']);
      expect(at(NOW + LIMITS.timestampFutureMicros + 1_000_000n)).toEqual(['timestamp-window']);
      expect(at(41n)).toEqual(['timestamp-window']);
    });
  });

  it('refuses USING TTL on a table without TTL, and takes it on one with a default TTL', () => {
    const cql = 'INSERT INTO ks.t (job, kafka_offset, value) VALUES (?, ?, ?) USING TTL 60';
    expect(check(cql)).toEqual(['ttl']);
    expect(
      check(cql, {
        table: {
          shape: { ...SHAPE, defaultTtl: 86_400 },
          features: { ttlEnabled: true, clientSideTimestamps: false },
        },
      }),
    ).toEqual([]);
  });

  describe('batches', () => {
    const write = (i: number) => ({
      statement: parseStatement(`INSERT INTO ks.t (job, kafka_offset) VALUES ('j', ${i})`),
      params: [],
    });
    it('refuses more than 30 statements in an unlogged batch and more than 100 in a logged one', () => {
      expect(
        checkBatch(
          false,
          false,
          Array.from({ length: 30 }, (_, i) => write(i)),
        ),
      ).toEqual([]);
      expect(
        checkBatch(
          false,
          false,
          Array.from({ length: 31 }, (_, i) => write(i)),
        ).map((e) => e.differenceId),
      ).toEqual(['batch-size']);
      expect(
        checkBatch(
          true,
          false,
          Array.from({ length: 100 }, (_, i) => write(i)),
        ),
      ).toEqual([]);
      expect(
        checkBatch(
          true,
          false,
          Array.from({ length: 101 }, (_, i) => write(i)),
        ).map((e) => e.differenceId),
      ).toEqual(['batch-size']);
    });
    it('refuses a conditional statement in a batch, and a COUNTER batch', () => {
      const lwt = {
        statement: parseStatement(
          'UPDATE ks.t SET value = ? WHERE job = ? AND kafka_offset = ? IF value = ?',
        ),
        params: [],
      };
      expect(checkBatch(true, false, [write(1), lwt]).map((e) => e.differenceId)).toEqual([
        'batch-statements',
      ]);
      expect(checkBatch(false, true, [write(1)]).map((e) => e.differenceId)).toEqual(['counter-batch']);
    });
    it('reads a BEGIN BATCH string with the same rules', () => {
      const many = Array.from(
        { length: 31 },
        (_, i) => `INSERT INTO ks.t (job, kafka_offset) VALUES ('j', ${i});`,
      ).join(' ');
      expect(check(`BEGIN UNLOGGED BATCH ${many} APPLY BATCH`, { table: undefined })).toEqual(['batch-size']);
      expect(
        check("BEGIN BATCH INSERT INTO ks.t (job, kafka_offset) VALUES ('j', 1) IF NOT EXISTS; APPLY BATCH", {
          table: undefined,
        }),
      ).toEqual(['batch-statements']);
    });
  });

  it('refuses the system tables Keyspaces does not have', () => {
    expect(check('SELECT * FROM system.peers_v2', { table: undefined })).toEqual(['system-tables']);
    expect(check('SELECT * FROM system.paxos', { table: undefined })).toEqual(['system-tables']);
    expect(check('SELECT * FROM system_auth.roles', { table: undefined })).toEqual(['system-tables']);
    expect(check('SELECT * FROM system_views.clients', { table: undefined })).toEqual(['system-tables']);
    expect(check('SELECT * FROM system_traces.sessions', { table: undefined })).toEqual(['system-tables']);
  });

  it('refuses the statements Keyspaces does not support', () => {
    const ddl = (cql: string) => check(cql, { prepared: false, table: undefined });
    expect(ddl('CREATE INDEX ON ks.t (value)')).toEqual(['unsupported-statement']);
    expect(ddl("CREATE CUSTOM INDEX ON ks.t (value) USING 'StorageAttachedIndex'")).toEqual([
      'unsupported-statement',
    ]);
    expect(ddl('DROP INDEX ks.i')).toEqual(['unsupported-statement']);
    expect(
      ddl('CREATE MATERIALIZED VIEW ks.v AS SELECT * FROM ks.t WHERE job IS NOT NULL PRIMARY KEY (job)'),
    ).toEqual(['unsupported-statement']);
    expect(
      ddl(
        'CREATE OR REPLACE FUNCTION ks.f (a int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return a; $$',
      ),
    ).toEqual(['unsupported-statement']);
    expect(ddl('CREATE AGGREGATE ks.a (int) SFUNC f STYPE int')).toEqual(['unsupported-statement']);
    expect(ddl("CREATE TRIGGER tr ON ks.t USING 'x'")).toEqual(['unsupported-statement']);
    expect(ddl('ALTER TYPE ks.u ADD b int')).toEqual(['unsupported-statement']);
    expect(ddl('TRUNCATE ks.t')).toEqual(['unsupported-statement']);
    expect(ddl("CREATE ROLE r WITH PASSWORD = 'p'")).toEqual(['security-statement']);
    expect(ddl('GRANT SELECT ON ks.t TO r')).toEqual(['security-statement']);
  });

  it('refuses aggregate functions', () => {
    expect(check('SELECT COUNT(*) AS n FROM ks.t')).toEqual(['aggregate-functions']);
    expect(check('SELECT max(kafka_offset) FROM ks.t WHERE job = ?')).toEqual(['aggregate-functions']);
  });

  it('refuses prepared DDL', () => {
    expect(
      check('CREATE TABLE IF NOT EXISTS ks.t (a text PRIMARY KEY)', { prepared: true, table: undefined }),
    ).toEqual(['prepared-ddl']);
    expect(check('DROP KEYSPACE IF EXISTS ks', { prepared: true, table: undefined })).toEqual([
      'prepared-ddl',
    ]);
  });

  describe('IN', () => {
    it('refuses IN in UPDATE and DELETE', () => {
      expect(check('UPDATE ks.t SET value = ? WHERE job IN (?, ?) AND kafka_offset = ?')).toEqual([
        'in-keyword',
      ]);
      expect(
        check('DELETE FROM ks.t WHERE job = ? AND kafka_offset IN ?', { params: ['j', [1n, 2n]] }),
      ).toEqual(['in-keyword']);
    });
    it('refuses IN with a slice or with TOKEN', () => {
      expect(check('SELECT * FROM ks.t WHERE job IN (?, ?) AND kafka_offset > ?')).toEqual(['in-keyword']);
      expect(check('SELECT * FROM ks.t WHERE token(job) > ? AND kafka_offset IN (1, 2)')).toEqual([
        'in-keyword',
        'in-keyword',
      ]);
    });
    it('refuses more than 100 subqueries, counting bound lists and products', () => {
      const list = (n: number) => Array.from({ length: n }, (_, i) => `j${i}`);
      expect(check('SELECT * FROM ks.t WHERE job IN ?', { params: [list(100)] })).toEqual([]);
      expect(check('SELECT * FROM ks.t WHERE job IN ?', { params: [list(101)] })).toEqual(['in-subqueries']);
      expect(
        check('SELECT * FROM ks.t WHERE job IN ? AND kafka_offset IN ?', { params: [list(11), list(10)] }),
      ).toEqual(['in-subqueries']);
    });
  });

  describe('sizes', () => {
    const insert = 'INSERT INTO ks.t (job, kafka_offset, value) VALUES (?, ?, ?)';
    it('refuses a row over 1 MB, as the guide estimates it', () => {
      expect(check(insert, { params: ['j', 1n, 'x'.repeat(1_000_000)] })).toEqual([]);
      expect(check(insert, { params: ['j', 1n, 'x'.repeat(LIMITS.rowBytes)] })).toEqual(['row-size']);
    });
    it('refuses a partition key over 2048 bytes', () => {
      expect(check(insert, { params: ['é'.repeat(1024), 1n, 'v'] })).toEqual([]);
      expect(check(insert, { params: ['é'.repeat(1025), 1n, 'v'] })).toEqual(['partition-key-size']);
      expect(
        check('DELETE FROM ks.t WHERE job = ? AND kafka_offset = ?', { params: ['x'.repeat(2049), 1n] }),
      ).toEqual(['partition-key-size']);
    });
    it('refuses clustering columns over 850 bytes', () => {
      const shape: TableShape = { ...SHAPE, clusteringKeys: [{ name: 'value', type: 'text' }] };
      const table = { shape, features: { ttlEnabled: false, clientSideTimestamps: false } };
      expect(check(insert, { table, params: ['j', 1n, 'x'.repeat(850)] })).toEqual([]);
      expect(check(insert, { table, params: ['j', 1n, 'x'.repeat(851)] })).toEqual(['clustering-key-size']);
    });
    it('refuses more than 225 regular columns in one write, 166 with TTL', () => {
      const cols = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);
      const shape = (n: number, ttl: number): TableShape => ({
        ...SHAPE,
        columns: [...SHAPE.columns, ...cols(n).map((name) => ({ name, type: 'int' }))],
        defaultTtl: ttl,
      });
      const write = (n: number) =>
        `UPDATE ks.t SET ${cols(n)
          .map((c) => `${c} = 1`)
          .join(', ')} WHERE job = 'j' AND kafka_offset = 1`;
      const plain = (n: number) => ({
        shape: shape(n, 0),
        features: { ttlEnabled: false, clientSideTimestamps: false },
      });
      const ttl = (n: number) => ({
        shape: shape(n, 60),
        features: { ttlEnabled: true, clientSideTimestamps: false },
      });
      expect(check(write(225), { table: plain(225) })).toEqual([]);
      expect(check(write(226), { table: plain(226) })).toEqual(['columns-per-write']);
      expect(check(write(166), { table: ttl(166) })).toEqual([]);
      expect(check(write(167), { table: ttl(167) })).toEqual(['columns-per-write']);
    });
  });

  it('names the difference, quotes nothing it cannot link, and says how to turn the mode off', () => {
    const [error] = checkStatement({
      statement: parseStatement('SELECT * FROM ks.t WHERE job = ?'),
      consistency: C.localSerial,
      serialConsistency: undefined,
      prepared: true,
      params: [],
    });
    expect(error).toBeInstanceOf(KeyspacesIncompatibleError);
    expect(error?.message).toMatch(
      /^Amazon Keyspaces would refuse this statement: consistency LOCAL_SERIAL \(a serial read\).*\[serial-consistency: no SERIAL or LOCAL_SERIAL consistency; https:\/\/docs\.aws\.amazon\.com\/keyspaces\/latest\/devguide\/consistency\.html#UnsupportedConsistency\]\. Statement: SELECT \* FROM ks\.t WHERE job = \? .*MICROBATCH_KEYSPACES_STRICT=0/,
    );
    for (const d of Object.values(DIFFERENCES))
      expect(d.doc).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/keyspaces\/latest\/devguide\//);
  });
});

describe('strictFromEnv', () => {
  it('is on by default and off only when asked', () => {
    expect(strictFromEnv({})).toBe(true);
    expect(strictFromEnv({ MICROBATCH_KEYSPACES_STRICT: '1' })).toBe(true);
    expect(strictFromEnv({ MICROBATCH_KEYSPACES_STRICT: '0' })).toBe(false);
    expect(strictFromEnv({ MICROBATCH_KEYSPACES_STRICT: 'false' })).toBe(false);
    expect(() => strictFromEnv({ MICROBATCH_KEYSPACES_STRICT: 'off' })).toThrow(/expected 1 .* or 0/);
  });
});
