/**
 * Creates what the pipeline needs on the local services, from the same typed schema the CDK app deploys:
 * the keyspace and tables (CQL DDL rendered by schema/cql.ts) and the topics (partitions from the config).
 * Both are idempotent, and topics only ever grow.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Client } from 'cassandra-driver';
import { renderCreateKeyspace, renderCreateTable, TABLES, TOPICS } from '../schema';
import type { PipelineConfig } from '../lib/config';
import { createTopicsWithLeaders } from '../lambda/runtime/kafka-topics';

export async function ensureSchema(
  client: Client,
  config: Pick<PipelineConfig, 'keyspace'>,
): Promise<string[]> {
  const statements = [
    renderCreateKeyspace(config.keyspace.name, 'cassandra'),
    ...TABLES.map((t) =>
      renderCreateTable(config.keyspace.name, t, {
        target: 'cassandra',
        ttlSeconds: config.keyspace.ttlSeconds[t.name],
      }),
    ),
  ];
  // The driver waits for schema agreement after each DDL statement (protocolOptions.maxSchemaAgreementWaitSeconds).
  // Not prepared: Keyspaces prepares DML only, and the strict mode holds the local run to that.
  for (const cql of statements) await client.execute(cql, [], { prepare: false });
  return statements;
}

export interface TopicPlan {
  readonly topic: string;
  readonly partitions: number;
}

export async function ensureTopics(
  brokers: readonly string[],
  topics: readonly TopicPlan[] = TOPICS.map((t) => ({ topic: t.name, partitions: t.partitions })),
): Promise<{ created: string[]; grown: string[] }> {
  const admin = new Kafka({
    clientId: 'microbatch-setup',
    brokers: [...brokers],
    logLevel: logLevel.ERROR,
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length) {
      // A single local broker: replication factor 1. A topic created meanwhile by someone else is fine.
      await createTopicsWithLeaders(
        admin,
        missing.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })),
      );
    }
    const grown: string[] = [];
    const present = topics.filter((t) => existing.has(t.topic));
    if (present.length) {
      const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.topic) });
      for (const t of present) {
        const have = meta.topics.find((m) => m.name === t.topic)?.partitions.length ?? 0;
        if (have < t.partitions) {
          await admin.createPartitions({ topicPartitions: [{ topic: t.topic, count: t.partitions }] });
          grown.push(t.topic);
        }
      }
    }
    return { created: missing.map((t) => t.topic), grown };
  } finally {
    await admin.disconnect();
  }
}

export function topicPlan(config: Pick<PipelineConfig, 'topics'>): TopicPlan[] {
  return TOPICS.map((t) => ({
    topic: t.name,
    partitions: config.topics[t.name]?.partitions ?? t.partitions,
  }));
}
