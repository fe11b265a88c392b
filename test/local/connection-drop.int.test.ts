/**
 * The local runner when the handler's Cassandra connection drops in the middle of a batch: through a proxy that
 * resets every connection and refuses new ones for 3 s, the batch fails, the runner retries it, and the result is
 * exact (every record once, nothing sent to the on-failure destination).
 */
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSourceRunner } from '../../local/runner';
import { runMicroBatch, type BatchReport } from '../../lambda/runtime/batch';
import { CassandraCheckpointStore, CassandraSinkStore } from '../../lambda/runtime/cassandra-store';
import { createCassandraClient } from '../../lambda/runtime/cassandra-client';
import { parseMskEvent } from '../../lambda/runtime/event';
import { createSentReceivedJob } from '../../lambda/jobs/sent-received';
import { delegatingSink } from '../support/memory-store';
import { tcpProxy } from '../support/tcp-proxy';
import {
  closeCassandra,
  count,
  endpoints,
  freshKeyspace,
  freshTopic,
  sendValues,
  source,
  uniqueName,
  waitFor,
} from '../support/integration';

afterAll(closeCassandra);

describe('a dropped Cassandra connection', () => {
  it('GIVEN the connection reset mid-batch and Cassandra unreachable for 3 s THEN the batch is retried and the result is exact', async () => {
    const topic = await freshTopic(1);
    const { client, keyspace } = await freshKeyspace();
    const job = createSentReceivedJob(
      { timeFormat: 'iso', failOnDataLoss: false },
      { name: uniqueName('sr-'), topics: [topic] },
    );
    const [host, port] = endpoints.cassandraContactPoints[0]!.split(':');
    const proxy = await tcpProxy({ host: host!, port: Number(port ?? 9042) });
    const proxied = await createCassandraClient({
      kind: 'local',
      contactPoints: [`127.0.0.1:${proxy.port}`],
      localDataCenter: endpoints.cassandraLocalDataCenter,
    });
    onTestFinished(() => proxied.shutdown());
    // The driver talks through the proxy only: the node's own address is never dialled.
    expect(proxied.hosts.keys()).toEqual([`127.0.0.1:${proxy.port}`]);
    const sink = new CassandraSinkStore(proxied, keyspace);
    let batches = 0;
    let dropped = false;
    const slow = delegatingSink(sink, {
      write: async (writes) => {
        const written = sink.write(writes);
        if (++batches === 3 && !dropped) {
          dropped = true;
          await new Promise((r) => setTimeout(r, 1));
          proxy.down(3000);
        }
        return written;
      },
    });
    const reports: BatchReport[] = [];
    const logs: unknown[] = [];
    const onFailureDir = mkdtempSync(join(tmpdir(), 'on-failure-'));
    const runner = new EventSourceRunner({
      jobName: job.name,
      topics: [topic],
      source: source({ batchSize: 100, maxBatchingWindowSeconds: 0, retryAttempts: -1 }),
      brokers: endpoints.kafkaBrokers,
      onFailureDir,
      log: (l) => void logs.push(l),
      retryBaseDelayMs: 50,
      invoke: async (event) =>
        runMicroBatch(job, parseMskEvent(event), {
          checkpoints: new CassandraCheckpointStore(proxied, keyspace),
          sink: slow,
          log: (l) => void logs.push(l),
          onReport: (r) => void reports.push(r),
        }),
    });
    const values = Array.from({ length: 600 }, (_, i) =>
      new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString(),
    );
    await sendValues(
      topic,
      values.map((value) => ({ value })),
    );
    await runner.start();
    onTestFinished(() => runner.stop());
    await waitFor(
      'all',
      async () => (reports.reduce((n, r) => n + r.written + r.duplicates, 0) >= 600 ? true : undefined),
      90_000,
    );
    await runner.stop();
    expect(dropped).toBe(true);
    expect(
      logs.some((l) => (l as { message?: string }).message?.startsWith('handler failed; retrying')),
    ).toBe(true);
    expect(readdirSync(onFailureDir)).toEqual([]);
    expect(await count(client, keyspace, 'sent_received')).toBe(600);
    expect(reports.reduce((n, r) => n + r.written, 0)).toBe(600);
  });
});
