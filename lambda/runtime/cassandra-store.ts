/**
 * The checkpoint and sink stores on Cassandra and Keyspaces. Every statement is prepared from the typed
 * schema, every table name is fully qualified, writes run with bounded concurrency, and retriable errors are
 * retried with backoff before they fail the batch.
 *
 * Keyspaces quotas (https://docs.aws.amazon.com/keyspaces/latest/devguide/quotas.html), and how they are kept:
 * - statements per batch: no CQL batches are used; every effect is one single-row upsert, so no batch can
 *   outgrow the quota, whatever the micro-batch size;
 * - 1 MB per row: decoders refuse values over 1,000,000 bytes (dead letter `oversized`), and a dead letter keeps
 *   at most 256 KB of payload (see `DEAD_LETTER_MAX_PAYLOAD_BYTES`);
 * - 3,000 queries per second per connection: at most `writeConcurrency` requests are in flight per batch, and
 *   the driver opens a connection to each of the endpoint's peers;
 * - throughput per partition: writes spread over the tables' partition keys (send time, sensor and window,
 *   job and Kafka partition); a throttled write is a retriable error, retried with backoff here and then by
 *   the event source.
 */
import { errors, types, type Client } from 'cassandra-driver';
import { BATCH_LEDGER, OFFSET_CHECKPOINTS, col, qualified, renderInsert, type TableDef } from '../../schema';
import { SinkError } from './errors';
import {
  partialId,
  type Checkpoint,
  type CheckpointStore,
  type LedgerEntry,
  type PartialKey,
  type PartitionRef,
  type RejectedWrite,
  type SinkStore,
  type SinkWrite,
  type StoredPartial,
} from './store';

/** Server error codes that say "try again": https://github.com/apache/cassandra/blob/trunk/doc/native_protocol_v4.spec (section 9). */
const RETRIABLE_CODES = new Set([
  0x0000, // server error (Keyspaces reports throughput exceeded this way)
  0x1000, // unavailable
  0x1001, // overloaded
  0x1002, // is bootstrapping
  0x1100, // write timeout
  0x1200, // read timeout
  0x1300, // read failure
  0x1500, // write failure
]);

export function isRetriableDriverError(error: unknown): boolean {
  if (
    error instanceof errors.OperationTimedOutError ||
    error instanceof errors.NoHostAvailableError ||
    error instanceof errors.BusyConnectionError
  ) {
    return true;
  }
  return error instanceof errors.ResponseError && RETRIABLE_CODES.has(error.code);
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 50, maxDelayMs: 2000 };

/** Runs `fn`, retrying retriable driver errors with full-jitter exponential backoff. */
export async function withRetry<T>(
  what: string,
  fn: () => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetriableDriverError(error))
        throw new SinkError(`${what} failed: ${(error as Error).message}`, false, { cause: error });
      if (attempt >= policy.attempts)
        throw new SinkError(`${what} failed after ${attempt} attempts: ${(error as Error).message}`, true, {
          cause: error,
        });
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
    }
  }
}

/** Runs `worker` over `items` with at most `limit` in flight, keeping results in input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  worker: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await worker(items[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

export interface CassandraStoreOptions {
  /** @default - 64 writes in flight: Keyspaces takes 3,000 queries per second per connection. */
  readonly writeConcurrency?: number;
  /** @default - DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
}

const refParams = (ref: PartitionRef) => [ref.job, ref.topic, ref.partition];
const NO_CLAIM = '';

export class CassandraCheckpointStore implements CheckpointStore {
  private readonly where = `WHERE ${col('job')} = ? AND ${col('topic')} = ? AND ${col('kafka_partition')} = ?`;
  private readonly table: string;

  constructor(
    private readonly client: Client,
    keyspace: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    this.table = qualified(keyspace, OFFSET_CHECKPOINTS);
  }

  async read(ref: PartitionRef): Promise<Checkpoint | undefined> {
    const rs = await withRetry(
      'reading the checkpoint',
      () =>
        this.client.execute(
          `SELECT next_offset, watermark_ms, claim_id, claim_until, claim_time FROM ${this.table} ${this.where}`,
          refParams(ref),
          // SERIAL: a read that sees any in-flight compare-and-set, so the protocol never acts on a stale row.
          { consistency: types.consistencies.localSerial },
        ),
      this.retry,
    );
    const row = rs.first();
    if (!row) return undefined;
    const claimId = row.get('claim_id') as string | null;
    return {
      nextOffset: row.get('next_offset') as bigint,
      watermarkMs: row.get('watermark_ms') === null ? null : Number(row.get('watermark_ms') as bigint),
      claim: claimId
        ? { id: claimId, until: row.get('claim_until') as bigint, time: row.get('claim_time') as Date }
        : null,
    };
  }

  async create(ref: PartitionRef, cp: Checkpoint): Promise<boolean> {
    return this.conditional('creating the checkpoint', () =>
      this.client.execute(
        `INSERT INTO ${this.table} (job, topic, kafka_partition, next_offset, watermark_ms, claim_id, claim_until, claim_time, updated_at) ` +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS',
        [...refParams(ref), ...this.columns(cp)],
      ),
    );
  }

  async compareAndSet(
    ref: PartitionRef,
    expected: { nextOffset: bigint; claimId: string | null },
    next: Checkpoint,
  ): Promise<boolean> {
    return this.conditional('moving the checkpoint', () =>
      this.client.execute(
        `UPDATE ${this.table} SET next_offset = ?, watermark_ms = ?, claim_id = ?, claim_until = ?, claim_time = ?, updated_at = ? ` +
          `${this.where} IF next_offset = ? AND claim_id = ?`,
        [...this.columns(next), ...refParams(ref), expected.nextOffset, expected.claimId ?? NO_CLAIM],
      ),
    );
  }

  private columns(cp: Checkpoint): unknown[] {
    return [
      cp.nextOffset,
      cp.watermarkMs === null ? null : BigInt(cp.watermarkMs),
      cp.claim?.id ?? NO_CLAIM,
      cp.claim?.until ?? null,
      cp.claim?.time ?? null,
      new Date(),
    ];
  }

  /**
   * A CAS whose outcome is unknown (a timeout during Paxos) reports `false`: the protocol re-reads the row at
   * SERIAL and decides from what is really there, so guessing wrong here costs a loop, never correctness.
   */
  private async conditional(what: string, run: () => Promise<types.ResultSet>): Promise<boolean> {
    try {
      return (await withRetry(what, run, { ...this.retry, attempts: 1 })).wasApplied();
    } catch (error) {
      if (error instanceof SinkError && error.retriable) return false;
      throw error;
    }
  }
}

export class CassandraSinkStore implements SinkStore {
  private readonly inserts = new Map<string, string>();
  private readonly concurrency: number;
  private readonly retry: RetryPolicy;

  constructor(
    private readonly client: Client,
    private readonly keyspace: string,
    options: CassandraStoreOptions = {},
  ) {
    this.concurrency = options.writeConcurrency ?? 64;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  private insertFor(table: TableDef): string {
    let cql = this.inserts.get(table.name);
    if (!cql)
      this.inserts.set(
        table.name,
        (cql = renderInsert(this.keyspace, table, { usingTimestamp: table.clientSideTimestamps })),
      );
    return cql;
  }

  async write(writes: readonly SinkWrite[]): Promise<RejectedWrite[]> {
    const outcomes = await mapBounded(
      writes,
      this.concurrency,
      async (write): Promise<RejectedWrite | undefined> => {
        const params: unknown[] = write.table.columns.map((c) => write.values[c.name] ?? null);
        if (write.table.clientSideTimestamps) params.push(write.writeTimestamp);
        try {
          await withRetry(
            `writing ${write.table.name}`,
            () => this.client.execute(this.insertFor(write.table), params),
            this.retry,
          );
          return undefined;
        } catch (error) {
          if (error instanceof SinkError && !error.retriable) return { write, error };
          throw error;
        }
      },
    );
    return outcomes.filter((o): o is RejectedWrite => o !== undefined);
  }

  async readPartials(
    table: TableDef,
    windowSpec: string,
    topic: string,
    partition: number,
    keys: readonly PartialKey[],
  ): Promise<Map<string, StoredPartial>> {
    const cql =
      `SELECT reading_count, value_sum, value_min, value_max, covered_offset FROM ${qualified(this.keyspace, table)} ` +
      'WHERE sensor_id = ? AND window_spec = ? AND window_start = ? AND topic = ? AND kafka_partition = ?';
    const out = new Map<string, StoredPartial>();
    await mapBounded(keys, this.concurrency, async (key) => {
      const rs = await withRetry(
        'reading a window partial',
        () => this.client.execute(cql, [key.key, windowSpec, new Date(key.windowStart), topic, partition]),
        this.retry,
      );
      const row = rs.first();
      if (row) {
        out.set(partialId(key), {
          count: Number(row.get('reading_count') as bigint),
          sum: row.get('value_sum') as number,
          min: row.get('value_min') as number,
          max: row.get('value_max') as number,
          coveredOffset: row.get('covered_offset') as bigint,
        });
      }
    });
    return out;
  }

  async recordBatch(entry: LedgerEntry): Promise<void> {
    const values: Record<string, unknown> = {
      job: entry.job,
      day: entry.startedAt.toISOString().slice(0, 10),
      started_at: entry.startedAt,
      batch_id: entry.batchId,
      duration_ms: entry.durationMs,
      records_in: entry.recordsIn,
      written: entry.written,
      duplicates: entry.duplicates,
      dead_lettered: entry.deadLettered,
      late: entry.late,
      offset_ranges: JSON.stringify(entry.offsetRanges, (_k, v: unknown) =>
        typeof v === 'bigint' ? Number(v) : v,
      ),
      watermark_ms: entry.watermarkMs === null ? null : BigInt(entry.watermarkMs),
    };
    await withRetry(
      'writing the batch ledger',
      () =>
        this.client.execute(
          this.insertFor(BATCH_LEDGER),
          BATCH_LEDGER.columns.map((c) => values[c.name] ?? null),
        ),
      this.retry,
    );
  }
}
