import { Client, types } from 'cassandra-driver';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from '../../../lambda/runtime/kafkajs';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  down,
  reset,
  resolveEndpoints,
  status,
  up,
  UnsupportedOperationError,
} from '../../../local/services';

/**
 * Runs against the services that test/setup/services.global.ts brought up: checks that
 * `up` is idempotent and that real clients can use both services end to end.
 */
const endpoints = (): ReturnType<typeof resolveEndpoints> => resolveEndpoints();

/**
 * A checkout that started nothing: the running services are someone else's to it, as another checkout's (or the
 * user's own Kafka, which `up` reuses) are to this one. Removed when the test finishes.
 */
function otherCheckout(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'services-other-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'local', 'maven'), { recursive: true });
  copyFileSync(
    path.join(__dirname, '..', '..', '..', 'local', 'maven', 'pom.xml'),
    path.join(root, 'local', 'maven', 'pom.xml'),
  );
  return root;
}

describe('local services', () => {
  it('up() again reuses the running services and starts nothing', async () => {
    const before = await status();
    const r = await up();
    expect(r.started).toEqual([]);
    expect(r.reused).toEqual(['kafka', 'cassandra']);
    const after = await status();
    expect(after.map((s) => [s.service, s.healthy])).toEqual([
      ['kafka', true],
      ['cassandra', true],
    ]);
    // Same processes as before: nothing was restarted.
    expect(after.map((s) => s.pid)).toEqual(before.map((s) => s.pid));
  });

  it('reset of another checkout refuses to wipe its own empty data while these services keep theirs', async () => {
    const root = otherCheckout();
    mkdirSync(path.join(root, '.local', 'data', 'kafka'), { recursive: true });
    const before = await status();
    const err = await reset({ mode: 'native', root }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedOperationError);
    expect((err as Error).message).toContain(
      `kafka at ${endpoints().kafkaBrokers.join(',')} and cassandra at`,
    );
    expect((err as Error).message).toContain('not started by it');
    expect((err as Error).message).toContain('Nothing was stopped or wiped.');
    // Nothing stopped, nothing wiped.
    expect(existsSync(path.join(root, '.local', 'data', 'kafka'))).toBe(true);
    const after = await status();
    expect(after.map((s) => [s.service, s.healthy, s.pid])).toEqual(
      before.map((s) => [s.service, s.healthy, s.pid]),
    );
  });

  it('down of another checkout says the services it did not start keep running, and stops nothing', async () => {
    const root = otherCheckout();
    const before = await status();
    const lines: string[] = [];
    const result = await down({ mode: 'native', root, log: (line) => lines.push(line) });
    expect(result).toEqual({ stopped: [], notRunning: ['kafka', 'cassandra'] });
    expect(lines).toEqual([
      `kafka at ${endpoints().kafkaBrokers.join(',')} keeps running: this checkout (${root}) did not start it. ` +
        'Stop it where it was started (`npm run local:down` in that checkout).',
      expect.stringMatching(/^cassandra at \S+ keeps running: this checkout/),
    ]);
    const after = await status();
    expect(after.map((s) => [s.service, s.healthy, s.pid])).toEqual(
      before.map((s) => [s.service, s.healthy, s.pid]),
    );
  });

  it('Kafka: create a topic, produce, and consume the messages back', async () => {
    const kafka = new Kafka({
      clientId: 'services-int-test',
      brokers: endpoints().kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    const topic = `services-int-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })).toBe(
        true,
      );
      const producer = kafka.producer();
      await producer.connect();
      const sent = ['one', 'two', 'three'].map((v, i) => ({ key: `k${i}`, value: v }));
      await producer.send({ topic, messages: sent });
      await producer.disconnect();

      const consumer = kafka.consumer({ groupId: `${topic}-group` });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`consumed only ${JSON.stringify(got)} in 30 s`)),
          30_000,
        );
        void consumer.run({
          eachMessage: async ({ message }) => {
            got.push(`${String(message.key)}=${String(message.value)}`);
            if (got.length === sent.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
      await consumer.disconnect();
      expect(got.sort()).toEqual(['k0=one', 'k1=two', 'k2=three']);
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('Cassandra: create a keyspace and table, write, and read back', async () => {
    const e = endpoints();
    const client = new Client({
      contactPoints: e.cassandraContactPoints,
      localDataCenter: e.cassandraLocalDataCenter,
    });
    const ks = `services_int_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    await client.connect();
    try {
      await client.execute(
        `CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
      );
      await client.execute(
        `CREATE TABLE ${ks}.readings (sensor text, ts timestamp, value double, PRIMARY KEY (sensor, ts))`,
      );
      const t = new Date('2026-01-01T00:00:00Z');
      for (const [i, v] of [1.5, 2.5, 4].entries()) {
        await client.execute(
          `INSERT INTO ${ks}.readings (sensor, ts, value) VALUES (?, ?, ?)`,
          ['s1', new Date(t.getTime() + i * 1000), v],
          {
            prepare: true,
          },
        );
      }
      const rs = await client.execute(`SELECT value FROM ${ks}.readings WHERE sensor = ?`, ['s1'], {
        prepare: true,
        consistency: types.consistencies.localQuorum,
      });
      expect(rs.rows.map((r) => Number(r.get('value')))).toEqual([1.5, 2.5, 4]);
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
      await client.shutdown();
    }
  });
});
