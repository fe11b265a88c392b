/**
 * Helpers for the integration tests, which run against the real local Kafka and Cassandra (the global setup
 * starts them). Each test gets its own topic, consumer group and keyspace, and registers their cleanup where it
 * creates them.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel, withAdmin } from '../../lambda/runtime/kafkajs';
import type { Client } from 'cassandra-driver';
import { onTestFinished } from 'vitest';
import { loadConfig, objectGetter, type EventSourceConfig, type PipelineConfig } from '../../config';
import { createCassandraClient } from '../../lambda/runtime/cassandra-client';
import { resolveEndpoints } from '../../local/services';
import { ensureSchema, ensureTopics } from '../../local/setup';
import { SHIPPED_JOBS } from './jobs';

export const endpoints = resolveEndpoints();

export function uniqueName(prefix: string): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}

let shared: Promise<Client> | undefined;

/** One client for the whole file; closed by the file's afterAll. */
export function cassandra(): Promise<Client> {
  shared ??= createCassandraClient({
    kind: 'local',
    contactPoints: endpoints.cassandraContactPoints,
    localDataCenter: endpoints.cassandraLocalDataCenter,
  });
  return shared;
}

export async function closeCassandra(): Promise<void> {
  if (shared) await (await shared).shutdown();
  shared = undefined;
}

export function testConfig(keyspace: string): PipelineConfig {
  return loadConfig(objectGetter({ keyspace: { name: keyspace } }), SHIPPED_JOBS);
}

/** A keyspace with every table of the schema, dropped when the test ends. */
export async function freshKeyspace(): Promise<{ client: Client; keyspace: string; config: PipelineConfig }> {
  const client = await cassandra();
  const keyspace = uniqueName('it_');
  const config = testConfig(keyspace);
  await ensureSchema(client, config, SHIPPED_JOBS);
  onTestFinished(async () => {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { prepare: false });
  });
  return { client, keyspace, config };
}

export function kafka(): Kafka {
  return new Kafka({ clientId: 'microbatch-it', brokers: endpoints.kafkaBrokers, logLevel: logLevel.ERROR });
}

/** A topic of its own, deleted when the test ends. */
export async function freshTopic(partitions = 3): Promise<string> {
  const topic = uniqueName('it-');
  await ensureTopics(endpoints.kafkaBrokers, [{ topic, partitions }]);
  deleteTopicWhenFinished(topic);
  return topic;
}

/** Deletes `topic` when the test ends. */
export function deleteTopicWhenFinished(topic: string): void {
  onTestFinished(() => withAdmin(kafka(), (admin) => admin.deleteTopics({ topics: [topic] })));
}

/** The event source knobs for a test: a fresh group, a short window, from the start of the topic. */
export function source(overrides: Partial<EventSourceConfig> = {}): EventSourceConfig {
  return {
    batchSize: 500,
    maxBatchingWindowSeconds: 1,
    startingPosition: 'TRIM_HORIZON',
    startingPositionTimestamp: undefined,
    consumerGroupId: uniqueName('it-group-'),
    retryAttempts: 2,
    maxRecordAgeSeconds: -1,
    bisectBatchOnError: false,
    reportBatchItemFailures: false,
    provisionedPollers: undefined,
    filters: [],
    ...overrides,
  };
}

export async function sendValues(
  topic: string,
  messages: ReadonlyArray<{ key?: string | null; value: string | null; partition?: number }>,
): Promise<void> {
  const producer = kafka().producer();
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 1000) {
      await producer.send({
        topic,
        messages: messages
          .slice(i, i + 1000)
          .map((m) => ({ key: m.key ?? null, value: m.value, partition: m.partition })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The rows of a table, counted by paging through their keys: Keyspaces has no COUNT(*). */
export async function count(client: Client, keyspace: string, table: string): Promise<number> {
  const key = client.metadata
    ? (await client.metadata.getTable(keyspace, table))?.partitionKeys[0]?.name
    : undefined;
  if (!key) throw new Error(`count: no table ${keyspace}.${table}`);
  let rows = 0;
  let pageState: string | undefined;
  do {
    const rs = await client.execute(`SELECT "${key}" FROM ${keyspace}.${table}`, [], {
      fetchSize: 5000,
      pageState,
    });
    rows += rs.rowLength;
    pageState = rs.pageState ?? undefined;
  } while (pageState);
  return rows;
}

/**
 * Runs `microbatch <args>` as a user would, in its own process (killed when the test ends), from `root`: this
 * project, or a copy of it.
 */
export function microbatch(
  args: readonly string[],
  options: { readonly root?: string; readonly env?: NodeJS.ProcessEnv } = {},
) {
  const root = options.root ?? join(__dirname, '..', '..');
  const child = spawn(process.execPath, [join(root, 'local', 'bin.js'), ...args], {
    cwd: root,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => void child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

/**
 * Sends `[count, outcome]` transactions of send times (one second apart from `firstSecond` past 11:00 on
 * 2026-12-01) to `topic` with a transactional producer; returns the values of the committed ones.
 */
export async function sendInTransactions(
  topic: string,
  transactions: ReadonlyArray<readonly [number, 'commit' | 'abort']>,
  firstSecond = 0,
): Promise<string[]> {
  const producer = kafka().producer({
    transactionalId: uniqueName('it-tx-'),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    const committed: string[] = [];
    let sent = firstSecond;
    for (const [count, outcome] of transactions) {
      const values = Array.from({ length: count }, () =>
        new Date(Date.UTC(2026, 11, 1, 11, 0, sent++)).toISOString(),
      );
      const tx = await producer.transaction();
      await tx.send({ topic, messages: values.map((value) => ({ value })) });
      if (outcome === 'commit') {
        await tx.commit();
        committed.push(...values);
      } else {
        await tx.abort();
      }
    }
    return committed;
  } finally {
    await producer.disconnect();
  }
}
