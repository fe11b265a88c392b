import { describe, expect, it, vi } from 'vitest';
import type { ITopicConfig, ITopicMetadata } from 'kafkajs';
// kafkajs's own error for a broker answer, as its Metadata parser throws it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
  createErrorFromCode(code: number): Error & { type: string };
};
import { createTopicsWithLeaders } from '../../../lambda/runtime/kafka-topics';

/**
 * A fake admin whose broker learns of a created topic only after `lag` Metadata requests, answering
 * UNKNOWN_TOPIC_OR_PARTITION (code 3) until then: what a KRaft broker does right after CreateTopics.
 */
function laggingAdmin(lag: number, answer = 3) {
  const known: ITopicMetadata[] = [];
  let pending: ITopicConfig[] = [];
  let asked = 0;
  return {
    createTopics: vi.fn(async (o: { topics: ITopicConfig[] }) => {
      pending = o.topics;
      return true;
    }),
    fetchTopicMetadata: vi.fn(async () => {
      if (++asked <= lag) throw createErrorFromCode(answer);
      for (const t of pending.splice(0)) {
        known.push({
          name: t.topic,
          partitions: Array.from({ length: t.numPartitions ?? 1 }, (_, i) => ({
            partitionErrorCode: 0,
            partitionId: i,
            leader: 1,
            replicas: [1],
            isr: [1],
          })),
        });
      }
      return { topics: known };
    }),
  };
}

describe('createTopicsWithLeaders', () => {
  it('waits through UNKNOWN_TOPIC_OR_PARTITION, which kafkajs 2.2.4 waitForLeaders treats as final', async () => {
    const admin = laggingAdmin(3);
    await expect(
      createTopicsWithLeaders(admin, [{ topic: 't', numPartitions: 2, replicationFactor: 1 }], { pollMs: 1 }),
    ).resolves.toBe(true);
    expect(admin.fetchTopicMetadata).toHaveBeenCalledTimes(4);
    expect(admin.createTopics).toHaveBeenCalledWith(expect.objectContaining({ waitForLeaders: false }));
  });

  it('waits through LEADER_NOT_AVAILABLE too', async () => {
    const admin = laggingAdmin(2, 5);
    await expect(createTopicsWithLeaders(admin, [{ topic: 't' }], { pollMs: 1 })).resolves.toBe(true);
  });

  it('fails at once on any other broker error', async () => {
    const admin = laggingAdmin(1, 29); // TOPIC_AUTHORIZATION_FAILED
    await expect(createTopicsWithLeaders(admin, [{ topic: 't' }], { pollMs: 1 })).rejects.toMatchObject({
      type: 'TOPIC_AUTHORIZATION_FAILED',
    });
  });

  it('gives up after the timeout, saying what it waited for', async () => {
    const admin = laggingAdmin(Number.MAX_SAFE_INTEGER);
    await expect(
      createTopicsWithLeaders(admin, [{ topic: 't' }], { pollMs: 1, timeoutMs: 20 }),
    ).rejects.toThrow(
      /Topics t still have no leader for every partition after 20 ms \(UNKNOWN_TOPIC_OR_PARTITION/,
    );
  });
});
