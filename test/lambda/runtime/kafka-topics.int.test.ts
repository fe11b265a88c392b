import { afterAll, describe, expect, it } from 'vitest';
import type { Admin, ITopicConfig } from 'kafkajs';
import { createTopicsWithLeaders } from '../../../lambda/runtime/kafka-topics';
import { kafka, uniqueName } from '../../support/integration';

/**
 * The race a KRaft broker exposes right after CreateTopics, made deterministic on the real local Kafka: the
 * CreateTopics request succeeds (validateOnly) and the topic appears 500 ms later, so Metadata first answers
 * UNKNOWN_TOPIC_OR_PARTITION, as it does now and then on 3.9 and 4.x under load.
 */
function laggingAdmin(real: Admin, created: string[]): Pick<Admin, 'createTopics' | 'fetchTopicMetadata'> {
  return {
    createTopics: async (options) => {
      const ok = await real.createTopics({ ...options, topics: options.topics, validateOnly: true });
      setTimeout(() => {
        created.push(...options.topics.map((t: ITopicConfig) => t.topic));
        void real.createTopics({ topics: options.topics });
      }, 500);
      return ok;
    },
    fetchTopicMetadata: (options) => real.fetchTopicMetadata(options),
  };
}

describe('creating topics on KRaft', () => {
  const admin = kafka().admin();
  const created: string[] = [];
  afterAll(async () => {
    await new Promise((resolve) => setTimeout(resolve, 600));
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
  });

  it("kafkajs's own waitForLeaders fails on a topic the broker does not know yet", async () => {
    await admin.connect();
    const topic = uniqueName('it-lag-');
    await expect(
      laggingAdmin(admin, created).createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
      }),
    ).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
  });

  it('createTopicsWithLeaders waits until every partition has a leader', async () => {
    const topic = uniqueName('it-lag-');
    await createTopicsWithLeaders(laggingAdmin(admin, created), [
      { topic, numPartitions: 3, replicationFactor: 1 },
    ]);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]?.partitions.map((p) => p.leader >= 0)).toEqual([true, true, true]);
  });
});
