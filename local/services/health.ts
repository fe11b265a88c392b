import { Client } from 'cassandra-driver';
import { Kafka, logLevel } from '../../lambda/runtime/kafkajs';
import { describe } from './errors';

/**
 * Health = the service answers a real client request, not just an open port:
 * - Kafka: a metadata request (kafkajs admin describeCluster), which needs the broker
 *   registered with the KRaft controller;
 * - Cassandra: a CQL session plus `SELECT release_version FROM system.local`, which needs
 *   the native transport up (it opens last, after the node has joined its ring).
 * Each check is bounded by `timeoutMs` whatever the client library does.
 */

export async function checkKafka(brokers: string[], timeoutMs: number): Promise<string> {
  const kafka = new Kafka({
    clientId: 'microbatch-services-health',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    return await withTimeout(
      (async () => {
        await admin.connect();
        const c = await admin.describeCluster();
        return `cluster ${c.clusterId}, ${c.brokers.length} broker(s), controller ${c.controller ?? 'none'}`;
      })(),
      timeoutMs,
      `Kafka metadata request to ${brokers.join(',')}`,
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function checkCassandra(
  contactPoints: string[],
  localDataCenter: string,
  timeoutMs: number,
): Promise<string> {
  const client = new Client({
    contactPoints,
    localDataCenter,
    socketOptions: { connectTimeout: timeoutMs, readTimeout: timeoutMs },
  });
  try {
    return await withTimeout(
      (async () => {
        await client.connect();
        const rs = await client.execute('SELECT release_version FROM system.local');
        const v: unknown = rs.first()?.get('release_version');
        return `Cassandra ${String(v)}`;
      })(),
      timeoutMs,
      `CQL query to ${contactPoints.join(',')}`,
    );
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} took longer than ${ms} ms`)), ms);
  });
  // The losing promise may still reject later; keep that from becoming an unhandled rejection.
  p.catch(() => undefined);
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export interface WaitOptions {
  /** Total time allowed. */
  timeoutMs: number;
  /** Time allowed for one attempt. */
  attemptTimeoutMs?: number;
  /** Pause between attempts (default 250 ms: a check is cheap, and startup time is what we measure). */
  intervalMs?: number;
  /** Called between attempts; throw from it to stop waiting (e.g. the process died). */
  abortCheck?: () => void;
}

/**
 * Retry `check` until it resolves or time runs out; resolves with its result, rejects
 * with `{ lastError }` wrapped by the caller's choice via `onTimeout`.
 */
export async function waitUntilHealthy<T>(
  check: (attemptTimeoutMs: number) => Promise<T>,
  o: WaitOptions,
  onTimeout: (lastError: unknown) => Error,
): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  let lastError: unknown = new Error('no attempt made');
  for (;;) {
    o.abortCheck?.();
    const left = deadline - Date.now();
    if (left <= 0) throw onTimeout(lastError);
    try {
      return await check(Math.max(500, Math.min(o.attemptTimeoutMs ?? 5000, left)));
    } catch (e) {
      lastError = e;
    }
    const pause = Math.min(o.intervalMs ?? 250, deadline - Date.now());
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));
  }
}

export { describe };
