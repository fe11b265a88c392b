/**
 * Creating topics with kafkajs on a KRaft cluster, until every partition has a leader.
 *
 * kafkajs 2.2.4's `createTopics({ waitForLeaders: true })` sends CreateTopics (v3) to the controller and then
 * Metadata (v6) for the new topics, retrying only LEADER_NOT_AVAILABLE. On KRaft (every MSK cluster we make,
 * and local Kafka 3.9 and 4.x) CreateTopics returns once the controller has committed the topics, and the
 * broker answering Metadata learns of them a moment later: until then it answers UNKNOWN_TOPIC_OR_PARTITION
 * (error code 3), which kafkajs treats as final. Measured here under load: 2 of 150 creations on 3.9.2 and
 * 1 of 150 on 4.4.0. So: create without kafkajs's wait, then wait here, retrying both answers.
 * https://kafka.apache.org/protocol#protocol_error_codes
 */
import type { Admin, ITopicConfig } from 'kafkajs';

/** The Metadata answers that mean "not there yet" for a topic the controller has just created. */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

export interface CreateTopicsOptions {
  /** @default - 30 s: how long the topics may take to get a leader for every partition */
  readonly timeoutMs?: number;
  /** @default - 100 ms, as kafkajs's own wait */
  readonly pollMs?: number;
}

/**
 * `admin.createTopics`, then waits until every partition of every topic has a leader. Resolves to kafkajs's
 * answer: `false` when a topic already existed (another creator won the race), which is not an error.
 */
export async function createTopicsWithLeaders(
  admin: Pick<Admin, 'createTopics' | 'fetchTopicMetadata'>,
  topics: readonly ITopicConfig[],
  options: CreateTopicsOptions = {},
): Promise<boolean> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const created = await admin.createTopics({
    topics: [...topics],
    waitForLeaders: false,
    timeout: timeoutMs,
  });
  await waitForLeaders(
    admin,
    topics.map((t) => t.topic),
    { ...options, timeoutMs },
  );
  return created;
}

export async function waitForLeaders(
  admin: Pick<Admin, 'fetchTopicMetadata'>,
  names: readonly string[],
  options: CreateTopicsOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last = 'no answer yet';
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [...names] });
      const waiting = names.filter((name) => {
        const partitions = topics.find((t) => t.name === name)?.partitions ?? [];
        return partitions.length === 0 || partitions.some((p) => p.leader < 0);
      });
      if (waiting.length === 0) return;
      last = `no leader yet for ${waiting.join(', ')}`;
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (type === undefined || !NOT_YET.has(type)) throw error;
      last = `${type}: ${(error as Error).message}`;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Topics ${names.join(', ')} still have no leader for every partition after ${options.timeoutMs ?? 30_000} ms ` +
          `(${last}). Check the brokers' health.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
  }
}
