/** `setup`'s topics on the real local Kafka (local/setup.ts): created, grown, and never shrunk, which it says. */
import { describe, expect, it } from 'vitest';
import { ensureTopics } from '../../local/setup';
import { deleteTopicWhenFinished, endpoints, uniqueName } from '../support/integration';

describe('ensureTopics', () => {
  it('creates a topic, grows it, and reports one the config gives fewer partitions than it has', async () => {
    // GIVEN a topic nobody has
    const topic = uniqueName('it-setup-');
    deleteTopicWhenFinished(topic);
    const plan = (partitions: number) => [{ topic, partitions }];

    // WHEN it is set up with 2 partitions, then 3, then 1
    const created = await ensureTopics(endpoints.kafkaBrokers, plan(2));
    const grown = await ensureTopics(endpoints.kafkaBrokers, plan(3));
    const shrunk = await ensureTopics(endpoints.kafkaBrokers, plan(1));

    // THEN
    expect(created).toEqual({ created: [topic], grown: [], larger: [] });
    expect(grown).toEqual({ created: [], grown: [topic], larger: [] });
    expect(shrunk).toEqual({ created: [], grown: [], larger: [{ topic, partitions: 1, has: 3 }] });
  });
});
