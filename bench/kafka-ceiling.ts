/**
 * The Kafka ceiling: raw consumption of the pre-loaded topic with the pipeline's client (kafkajs, configured
 * as the event-source runner configures it) and an empty handler. Timed from the moment the consumer has
 * joined its group until every record has been handed to the handler.
 */
import { MAX_PAYLOAD_BYTES } from '../local/runner';
import { kafkaClient, until } from './fixtures';
import type { CpuSampler, CpuUse } from './machine';

export interface KafkaCeiling {
  readonly records: number;
  readonly seconds: number;
  readonly rate: number;
  /** The CPU from the group join to the last record: the fetch path alone, without connecting and joining. */
  readonly cpu: CpuUse;
}

export async function kafkaCeiling(options: {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly expected: number;
  readonly timeoutMs: number;
  readonly onProgress?: (done: number) => void;
  /** Starts a sampler of the processes whose CPU the report counts (the bench's, Kafka's, Cassandra's). */
  readonly sampleCpu: () => CpuSampler;
}): Promise<KafkaCeiling> {
  const consumer = kafkaClient(options.brokers, 'microbatch-bench-kafka-ceiling').consumer({
    groupId: options.groupId,
    // The runner's settings (local/runner.ts): fetches of up to one 6 MB batch per partition.
    maxBytesPerPartition: MAX_PAYLOAD_BYTES,
  });
  let seen = 0;
  let finishedAt = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 64,
      // The empty handler: count and let kafkajs move on.
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= options.expected && !finishedAt) finishedAt = performance.now();
      },
    });
    // consumer.run() resolves once the group is joined: fetching starts now. The join's CPU (connections,
    // metadata, a first rebalance) is a fixed cost, not kafkajs's per record: spread over a fetch of a third of a
    // second it read 2.4 µs a record where the fetch alone is 1.7-2.1 (bench/README.md, 2026-11-30 21:01).
    const cpu = options.sampleCpu();
    const started = performance.now();
    await until(
      'the Kafka ceiling consumer to read every record',
      () => finishedAt > 0,
      options.timeoutMs,
      10,
      () => options.onProgress?.(seen),
    );
    const use = cpu.stop();
    const seconds = (finishedAt - started) / 1000;
    return {
      records: seen,
      seconds: Math.round(seconds * 1000) / 1000,
      rate: Math.round(seen / seconds),
      cpu: use,
    };
  } finally {
    await consumer.disconnect();
  }
}
