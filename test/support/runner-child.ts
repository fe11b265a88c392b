/**
 * A runner in its own process, for the SIGKILL test. It prints `effects <n>` on stdout when a batch starts its
 * writes, and slows every write down so that a kill lands in the middle of them.
 * Env: IT_TOPIC, IT_GROUP, IT_KEYSPACE, IT_JOB, IT_WRITE_DELAY_MS.
 */
import { CassandraCheckpointStore, CassandraSinkStore } from '../../lambda/runtime/cassandra-store';
import { createCassandraClient } from '../../lambda/runtime/cassandra-client';
import { runMicroBatch } from '../../lambda/runtime/batch';
import { parseMskEvent } from '../../lambda/runtime/event';
import { createSentReceivedJob } from '../../lambda/jobs/sent-received';
import { EventSourceRunner } from '../../local/runner';
import { resolveEndpoints } from '../../local/services';

async function main(): Promise<void> {
  const env = process.env;
  const endpoints = resolveEndpoints();
  const client = await createCassandraClient({
    kind: 'local',
    contactPoints: endpoints.cassandraContactPoints,
    localDataCenter: endpoints.cassandraLocalDataCenter,
  });
  const job = createSentReceivedJob(
    { timeFormat: 'iso', failOnDataLoss: false },
    { name: env.IT_JOB!, topics: [env.IT_TOPIC!] },
  );
  const checkpoints = new CassandraCheckpointStore(client, env.IT_KEYSPACE!);
  const real = new CassandraSinkStore(client, env.IT_KEYSPACE!, { writeConcurrency: 4 });
  const delay = Number(env.IT_WRITE_DELAY_MS ?? 20);
  let batches = 0;
  const sink = {
    readPartials: real.readPartials.bind(real),
    recordBatch: real.recordBatch.bind(real),
    compareAndSetPartial: real.compareAndSetPartial.bind(real),
    write: async (writes: Parameters<typeof real.write>[0]) => {
      process.stdout.write(`effects ${++batches}\n`);
      const out = [];
      for (const w of writes) {
        await new Promise((r) => setTimeout(r, delay));
        out.push(...(await real.write([w])));
      }
      return out;
    },
  };
  const runner = new EventSourceRunner({
    jobName: env.IT_JOB!,
    topics: [env.IT_TOPIC!],
    // Written out here: the vitest helpers cannot be loaded outside a test.
    source: {
      batchSize: 50,
      maxBatchingWindowSeconds: 0,
      startingPosition: 'TRIM_HORIZON',
      startingPositionTimestamp: undefined,
      consumerGroupId: env.IT_GROUP!,
      retryAttempts: -1,
      maxRecordAgeSeconds: -1,
      bisectBatchOnError: false,
      reportBatchItemFailures: false,
      provisionedPollers: undefined,
      filters: [],
    },
    brokers: endpoints.kafkaBrokers,
    onFailureDir: '/tmp',
    log: () => undefined,
    invoke: async (event) =>
      runMicroBatch(job, parseMskEvent(event), { checkpoints, sink, log: () => undefined }),
  });
  await runner.start();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
