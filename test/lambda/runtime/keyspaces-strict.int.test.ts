/**
 * The Keyspaces-strict mode through the real driver and the real local Cassandra: the statements below are
 * all accepted by Apache Cassandra (the plain client runs each of them), and the strict client, which the
 * local target gets by default, refuses each one before it is sent, whichever driver entry point sends it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { types, type Client } from 'cassandra-driver';
import { createCassandraClient } from '../../../lambda/runtime/cassandra-client';
import { KeyspacesIncompatibleError, KeyspacesStrictClient } from '../../../lambda/runtime/keyspaces-strict';
import { ensureSchema } from '../../../local/setup';
import { cassandra, closeCassandra, endpoints, testConfig, uniqueName } from '../../support/integration';
import { SHIPPED_JOBS } from '../../support/jobs';

const target = {
  kind: 'local' as const,
  contactPoints: endpoints.cassandraContactPoints,
  localDataCenter: endpoints.cassandraLocalDataCenter,
};

let plain: Client;
let client: Client;
// One keyspace for the file (creating one per test costs seconds of DDL); each test uses its own keys.
const keyspace = uniqueName('it_');
beforeAll(async () => {
  plain = await createCassandraClient(target, { keyspacesStrict: false });
  client = await cassandra();
  await ensureSchema(client, testConfig(keyspace), SHIPPED_JOBS);
});
afterAll(async () => {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { prepare: false });
  await plain.shutdown();
  await closeCassandra();
});

/** The difference a promise was refused for, or 'sent' if it was not. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'sent';
  } catch (error) {
    if (error instanceof KeyspacesIncompatibleError) return error.differenceId;
    throw error;
  }
}

describe('the Keyspaces-strict client on real Cassandra', () => {
  it('is what createCassandraClient gives the local target, unless asked not to', () => {
    expect(client).toBeInstanceOf(KeyspacesStrictClient);
    expect(plain).not.toBeInstanceOf(KeyspacesStrictClient);
  });

  it('refuses USING TIMESTAMP, prepared or not, and writes nothing', async () => {
    const cql = `INSERT INTO ${keyspace}.sent_received (time_sent, time_received) VALUES (?, ?) USING TIMESTAMP ?`;
    const row = `SELECT * FROM ${keyspace}.sent_received WHERE time_sent = ?`;
    for (const prepare of [true, false])
      expect(await refusal(client.execute(cql, ['ts', 'b', 41n], { prepare }))).toBe(
        'client-side-timestamps',
      );
    expect((await client.execute(row, ['ts'])).rowLength).toBe(0);
    // Cassandra itself takes it.
    await plain.execute(cql, ['ts', 'b', 41n], { prepare: true });
    expect((await plain.execute(row, ['ts'])).rowLength).toBe(1);
  });

  it('reads the table TTL from the real schema: USING TTL only where the table has a default TTL', async () => {
    const noTtl = `INSERT INTO ${keyspace}.sent_received (time_sent, time_received) VALUES (?, ?) USING TTL 60`;
    expect(await refusal(client.execute(noTtl, ['a', 'b']))).toBe('ttl');
    await plain.execute(noTtl, ['a', 'b']);
    const withTtl = `INSERT INTO ${keyspace}.batch_ledger (job, day, started_at, batch_id) VALUES (?, ?, ?, ?) USING TTL 60`;
    expect(await refusal(client.execute(withTtl, ['j', '2026-01-01', new Date(), 'b1']))).toBe('sent');
  });

  it('checks eachRow and stream as execute', async () => {
    const serialRead = `SELECT * FROM ${keyspace}.offset_checkpoints`;
    const options = { consistency: types.consistencies.localSerial };
    const viaEachRow = new Promise((resolve, reject) =>
      client.eachRow(
        serialRead,
        [],
        options,
        () => undefined,
        (err) => (err ? reject(err) : resolve(null)),
      ),
    );
    expect(await refusal(viaEachRow)).toBe('serial-consistency');
    const viaStream = new Promise((resolve, reject) =>
      client
        .stream(serialRead, [], options)
        .on('error', reject)
        .on('end', resolve)
        .on('readable', function (this: { read(): unknown }) {
          while (this.read()) {
            // drain
          }
        }),
    );
    expect(await refusal(viaStream)).toBe('serial-consistency');
    await plain.execute(serialRead, [], options);
  });

  it('checks client.batch: size, conditional statements, and every statement in it', async () => {
    const insert = `INSERT INTO ${keyspace}.sent_received (time_sent, time_received) VALUES (?, ?)`;
    const writes = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ query: insert, params: [`t${i}`, 'r'] }));
    expect(await refusal(client.batch(writes(30), { prepare: true, logged: false }))).toBe('sent');
    expect(await refusal(client.batch(writes(31), { prepare: true, logged: false }))).toBe('batch-size');
    await plain.batch(writes(31), { prepare: true, logged: false });
    const lwt = { query: `${insert} IF NOT EXISTS`, params: ['x', 'r'] };
    expect(await refusal(client.batch([lwt], { prepare: true }))).toBe('batch-statements');
    const stamped = { query: `${insert} USING TIMESTAMP 41`, params: ['y', 'r'] };
    expect(await refusal(client.batch([stamped], { prepare: true }))).toBe('client-side-timestamps');
  });

  it('refuses prepared DDL, aggregates and the system tables Keyspaces does not have, which Cassandra serves', async () => {
    const ddl = `CREATE TABLE IF NOT EXISTS ${keyspace}.extra (a text PRIMARY KEY)`;
    expect(await refusal(client.execute(ddl, [], { prepare: true }))).toBe('prepared-ddl');
    expect(await refusal(client.execute(ddl, [], { prepare: false }))).toBe('sent');
    const count = `SELECT COUNT(*) FROM ${keyspace}.sent_received`;
    expect(await refusal(client.execute(count))).toBe('aggregate-functions');
    await plain.execute(count);
    expect(await refusal(client.execute('SELECT * FROM system.peers_v2'))).toBe('system-tables');
    await plain.execute('SELECT * FROM system.peers_v2');
    expect(
      await refusal(
        client.execute(`CREATE INDEX ON ${keyspace}.sent_received (time_received)`, [], { prepare: false }),
      ),
    ).toBe('unsupported-statement');
  });

  it('refuses a row over 1 MB and a partition key over 2048 bytes, with the values bound', async () => {
    const insert = `INSERT INTO ${keyspace}.sent_received (time_sent, time_received) VALUES (?, ?)`;
    expect(await refusal(client.execute(insert, ['k', 'x'.repeat(1024 * 1024)]))).toBe('row-size');
    expect(await refusal(client.execute(insert, ['k'.repeat(2049), 'r']))).toBe('partition-key-size');
    await plain.execute(insert, ['k'.repeat(2049), 'r']);
  });
});
