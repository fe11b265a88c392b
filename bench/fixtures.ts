/**
 * What each benchmark run creates on the shared local services, and removes at the end: one keyspace
 * (`bench_<id>`), its topics (`bench-<id>-...`) and consumer groups. Nothing is shared between runs, so two
 * runs (or a run and the tests) never see each other's data.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from '../lambda/runtime/kafkajs';
import type { Client } from 'cassandra-driver';
import { loadConfig, objectGetter, type PipelineConfig } from '../config';
import { OFFSET_CHECKPOINTS, qualified, renderCreateTable, SENT_RECEIVED, type TableDef } from '../schema';
import { ensureSchema, ensureTopics } from '../local/setup';
import sentReceived from '../lambda/jobs/sent-received';

export function runId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 10);
}

/** The ceiling writes go to a twin of `sent_received`: same columns, key, options and client-side timestamps. */
export const CEILING_TABLE: TableDef = { ...SENT_RECEIVED, name: 'ceiling_sent_received' };

/** The bench runs the tutorial job's code: its tables and the runtime's are what it needs. */
export function benchConfig(keyspace: string): PipelineConfig {
  return loadConfig(objectGetter({ keyspace: { name: keyspace } }), [sentReceived]);
}

export async function createKeyspace(client: Client, keyspace: string): Promise<void> {
  const config = benchConfig(keyspace);
  await ensureSchema(client, config, [sentReceived]);
  await client.execute(renderCreateTable(keyspace, CEILING_TABLE, { target: 'cassandra' }));
}

/** The next offset a job's checkpoint holds for a partition, or null when it has none. */
export async function checkpointedOffset(
  client: Client,
  keyspace: string,
  ref: { readonly job: string; readonly topic: string; readonly partition: number },
): Promise<bigint | null> {
  const row = (
    await client.execute(
      `SELECT next_offset FROM ${qualified(keyspace, OFFSET_CHECKPOINTS)} WHERE job = ? AND topic = ? AND kafka_partition = ?`,
      [ref.job, ref.topic, ref.partition],
    )
  ).first();
  return row ? (row.get('next_offset') as bigint) : null;
}

export async function dropKeyspace(client: Client, keyspace: string): Promise<void> {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { readTimeout: 60_000 });
}

export function kafkaClient(brokers: readonly string[], clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.ERROR, retry: { retries: 8 } });
}

export async function createTopic(
  brokers: readonly string[],
  topic: string,
  partitions: number,
): Promise<void> {
  await ensureTopics(brokers, [{ topic, partitions }]);
}

/** Deletes what a run created in Kafka; a failure is reported, never thrown (the numbers are what matter). */
export async function cleanupKafka(
  brokers: readonly string[],
  topics: readonly string[],
  groups: readonly string[],
): Promise<string[]> {
  const problems: string[] = [];
  const admin = kafkaClient(brokers, 'microbatch-bench').admin();
  try {
    await admin.connect();
    if (groups.length) {
      await admin.deleteGroups([...groups]).catch((e: unknown) => problems.push(`groups: ${String(e)}`));
    }
    if (topics.length) {
      await admin
        .deleteTopics({ topics: [...topics] })
        .catch((e: unknown) => problems.push(`topics: ${String(e)}`));
    }
  } catch (error) {
    problems.push(String(error));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return problems;
}

/**
 * Retries a setup step while the services are unreachable: another engineer may be restarting them. Bounded:
 * `attempts` tries, `delayMs` apart.
 */
export async function retrying<T>(
  what: string,
  fn: () => Promise<T>,
  options: { attempts?: number; delayMs?: number; onRetry?: (message: string) => void } = {},
): Promise<T> {
  const attempts = options.attempts ?? 12;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts)
        throw new Error(`${what} failed after ${attempt} attempts: ${String(error)}`, { cause: error });
      options.onRetry?.(`${what} failed (${String(error)}); retrying (${attempt}/${attempts - 1})`);
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 5000));
    }
  }
}

/** Resolves when `done()` is true, polling every `everyMs`; rejects after `timeoutMs`. */
export async function until(
  what: string,
  done: () => boolean,
  timeoutMs: number,
  everyMs = 20,
  onTick?: () => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}.`);
    onTick?.();
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Waits until Cassandra has no flush or compaction running or queued (its `system_views.thread_pools`), at most
 * `maxMs`; returns the seconds waited. A phase that follows a large write (the ceiling writes over a million rows)
 * would otherwise pay for that write's compactions: they showed up as 0.4 cores of `CompactionExecutor` in the
 * pipeline phase.
 */
export async function settleCassandra(client: Client, maxMs = 120_000): Promise<number> {
  const started = Date.now();
  let quiet = 0;
  while (Date.now() - started < maxMs) {
    const pools = await client.execute(
      "SELECT name, active_tasks, pending_tasks FROM system_views.thread_pools WHERE name IN ('CompactionExecutor', 'MemtableFlushWriter', 'MemtablePostFlush')",
    );
    const busy = pools.rows.some((r) => Number(r.get('active_tasks')) + Number(r.get('pending_tasks')) > 0);
    quiet = busy ? 0 : quiet + 1;
    // Twice idle a second apart: a compaction often queues the next one as it ends.
    if (quiet >= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return Math.round((Date.now() - started) / 100) / 10;
}
