import { Client } from 'cassandra-driver';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from '../../../lambda/runtime/kafkajs';
import { describe, expect, it } from 'vitest';
import { down, resolveEndpoints, resolveMode, status, up } from '../../../local/services';

/**
 * down + up keeps the data: Kafka's topic and messages and its KRaft cluster id (the
 * storage is not formatted again), and Cassandra's rows. In external mode down stops
 * nothing and the same assertions hold trivially.
 */
describe('restart', () => {
  it('keeps Kafka messages, the KRaft cluster id and Cassandra rows across down and up', async () => {
    const mode = resolveMode();
    const e = resolveEndpoints();
    const kafka = new Kafka({
      clientId: 'services-restart-test',
      brokers: e.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    const topic = `services-restart-${randomUUID()}`;
    const ks = `services_restart_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

    // Before: a topic with a message, a keyspace with a row, and the cluster id.
    const admin = kafka.admin();
    await admin.connect();
    const clusterBefore = (await admin.describeCluster()).clusterId;
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'survives' }] });
    await producer.disconnect();
    const cql = (): Client =>
      new Client({ contactPoints: e.cassandraContactPoints, localDataCenter: e.cassandraLocalDataCenter });
    let client = cql();
    await client.connect();
    await client.execute(
      `CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    );
    await client.execute(`CREATE TABLE ${ks}.kv (k text PRIMARY KEY, v int)`);
    await client.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('answer', 42)`);
    await client.shutdown();

    const stopped = await down();
    expect(stopped.stopped).toEqual(mode === 'external' ? [] : ['kafka', 'cassandra']);
    if (mode !== 'external') {
      expect((await status()).map((s) => s.healthy)).toEqual([false, false]);
    }
    const again = await up();
    expect(again.started).toEqual(mode === 'external' ? [] : ['kafka', 'cassandra']);

    try {
      const admin2 = kafka.admin();
      await admin2.connect();
      expect((await admin2.describeCluster()).clusterId).toBe(clusterBefore);
      const offsets = await admin2.fetchTopicOffsets(topic);
      expect(offsets.map((o) => o.high)).toEqual(['1']);
      await admin2.deleteTopics({ topics: [topic] });
      await admin2.disconnect();

      client = cql();
      await client.connect();
      const rs = await client.execute(`SELECT v FROM ${ks}.kv WHERE k = 'answer'`);
      expect(rs.first()?.get('v')).toBe(42);
      await client.execute(`DROP KEYSPACE ${ks}`);
      await client.shutdown();
    } finally {
      await client.shutdown().catch(() => undefined);
    }
  }, 300_000);
});
