/**
 * The checkpoint and sink stores on Cassandra and Keyspaces. Every statement is prepared from the typed
 * schema, every table name is fully qualified, writes run with bounded concurrency, and retriable errors are
 * retried with backoff before they fail the batch.
 *
 * Keyspaces quotas (https://docs.aws.amazon.com/keyspaces/latest/devguide/quotas.html), and how they are kept:
 * - statements per batch: rows are written in unlogged batches of at most `batchStatements` (30, the quota of an
 *   unlogged batch) unconditional upserts of one table; conditional writes (checkpoints, partials) are never
 *   batched. A batch is only a way to send many rows in one request: each row is still an idempotent upsert of
 *   the same values on every attempt, so a batch applied in part and retried changes nothing the protocol sees;
 * - 1 MB per row: decoders refuse values over 1,000,000 bytes (dead letter `oversized`), and a dead letter keeps
 *   at most 256 KB of payload (see `DEAD_LETTER_MAX_PAYLOAD_BYTES`);
 * - 3,000 queries per second per connection: at most `writeConcurrency` requests (single rows or batches) are
 *   in flight per partition of a micro-batch, and the driver opens a connection to each of the endpoint's peers;
 * - throughput per partition: writes spread over the tables' partition keys (send time, sensor and window,
 *   job and Kafka partition); a throttled write is a retriable error, retried with backoff here and then by
 *   the event source.
 */
import type { Client } from 'cassandra-driver';
import { errors, types } from './cassandra-driver';
import {
  BATCH_LEDGER,
  OFFSET_CHECKPOINTS,
  SKIPPED_RANGES,
  col,
  keyColumns,
  qualified,
  regularColumns,
  renderCompareAndSet,
  renderInsert,
  windowKeyColumn,
  type TableDef,
} from '../../schema';
import { SinkError } from './errors';
import { settleAll } from './effects';
import { checkpointReadConsistency } from './cassandra-connect';
import {
  partialId,
  type Checkpoint,
  type CheckpointStore,
  type Cursor,
  type CursorGuard,
  type LedgerEntry,
  type PartialKey,
  type PartialLane,
  type PartitionRef,
  type RejectedWrite,
  type SinkStore,
  type SinkWrite,
  type SkippedRange,
  type SkippedStatus,
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

/**
 * What to do about a driver error:
 * - `retry`: transient. Timeouts, overload, unavailability, and any error that is not a server response (a
 *   socket closed mid-request, a connection reset): retried with backoff, then the batch fails and is retried.
 * - `record`: the server refused this statement's values (an invalid request that is not about the schema), or
 *   the driver could not encode them: the record goes to the dead letters.
 * - `fatal`: configuration (credentials, permissions, a missing table or keyspace, a syntax error): the batch
 *   fails and is retried once it is fixed. Never dead-letter a whole stream because a permission is missing.
 */
export type DriverErrorKind = 'retry' | 'record' | 'fatal';

const SCHEMA_PROBLEM = /unconfigured table|does not exist|undefined column|unknown (identifier|keyspace)/i;

export function classifyDriverError(error: unknown): DriverErrorKind {
  if (error instanceof errors.AuthenticationError) return 'fatal';
  // The driver could not encode a value (a Date out of range, a NaN where an integer goes): the same on every
  // attempt, so not worth a retry; it is the record's, and goes to the dead letters like a refused value.
  if (error instanceof TypeError || error instanceof RangeError) return 'record';
  if (!(error instanceof errors.ResponseError)) return 'retry';
  if (RETRIABLE_CODES.has(error.code)) return 'retry';
  if (error.code === 0x2200 && !SCHEMA_PROBLEM.test(error.message)) return 'record';
  return 'fatal';
}

export function isRetriableDriverError(error: unknown): boolean {
  return classifyDriverError(error) === 'retry';
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 50, maxDelayMs: 2000 };

/**
 * Runs `fn`, retrying transient driver errors with full-jitter exponential backoff. What it throws is a
 * `SinkError` whose `retriable` says whether the batch should fail (true) or the record be dead-lettered (false).
 */
export async function withRetry<T>(
  what: string,
  fn: () => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      // A statement Keyspaces would refuse is a bug to fix, not a record to dead-letter or a request to retry.
      // (By name: the strict mode is local only, and its module stays out of the functions' bundles.)
      if (error instanceof Error && error.name === 'KeyspacesIncompatibleError') throw error;
      const kind = classifyDriverError(error);
      const message = (error as Error).message;
      if (kind === 'record') throw new SinkError(`${what} was refused: ${message}`, false, { cause: error });
      if (kind === 'fatal') {
        throw new SinkError(
          `${what} failed: ${message}. Fix the configuration; the batch will be retried.`,
          true,
          { cause: error },
        );
      }
      if (attempt >= policy.attempts)
        throw new SinkError(`${what} failed after ${attempt} attempts: ${message}`, true, { cause: error });
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
    }
  }
}

/**
 * Runs `worker` over `items` with at most `limit` in flight, keeping results in input order. After the first
 * failure no lane starts a new item, and the failure is reported only once every lane has stopped: no write of
 * a failed batch may outlive the handler's failure (issue 8, fix 5).
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  worker: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await worker(items[i]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  await settleAll(lanes);
  return results;
}

export interface CassandraStoreOptions {
  /**
   * Requests in flight per `write` call (one partition of a micro-batch): single rows or unlogged batches.
   * @default - DEFAULT_WRITE_CONCURRENCY
   */
  readonly writeConcurrency?: number;
  /**
   * Rows per unlogged batch, at most 30 (Keyspaces' quota for an unlogged batch); 1 writes every row on its own.
   * @default - MAX_UNLOGGED_BATCH_STATEMENTS
   */
  readonly batchStatements?: number;
  /** @default - DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
}

/**
 * Keyspaces' quota for an unlogged batch: "up to 30 commands per batch". The strict mode refuses more.
 * https://docs.aws.amazon.com/keyspaces/latest/devguide/functional-differences.html#functional-differences.batch
 */
export const MAX_UNLOGGED_BATCH_STATEMENTS = 30;

/**
 * The estimated bytes of values one batch may carry. Apache Cassandra warns about every batch over 5 KiB
 * (`batch_size_warn_threshold`) and refuses one over 50 KiB; rows larger than this go alone.
 * https://cassandra.apache.org/doc/5.0/cassandra/managing/configuration/cass_yaml_file.html#batch_size_warn_threshold
 */
export const MAX_BATCH_VALUE_BYTES = 5 * 1024;

/**
 * Requests in flight per partition. Measured with `npm run bench` (bench/README.md, 2026-11-30): with three
 * partitions, 8 gave a steady 23,587 rows/s, 16 gave 26,458–26,984, and 32 gave 26,301: past 16, more requests only
 * queue in the server. The Cassandra ceiling's best level is 16–32 unlogged batches in flight.
 */
export const DEFAULT_WRITE_CONCURRENCY = 16;

/** A rough size of a row's values, as Cassandra counts a batch's size: enough to keep far from its limits. */
export function estimatedValueBytes(params: readonly unknown[]): number {
  let n = 0;
  for (const v of params) {
    if (typeof v === 'string') n += v.length;
    else if (Buffer.isBuffer(v)) n += v.length;
    else n += 8;
  }
  return n;
}

/** One request of a `write`: rows of one table, alone or as an unlogged batch. */
export interface WriteGroup {
  readonly cql: string;
  readonly writes: SinkWrite[];
  readonly params: unknown[][];
}

/**
 * Cuts the writes into requests: rows of one table (one prepared statement) in input order, at most
 * `maxStatements` and `maxBytes` (estimated) per request. On the local single node every row has the same
 * replica, and Keyspaces routes each request itself, so grouping by table is grouping by token on both targets.
 */
/**
 * The last write of each row (table and primary key), in input order, and the writes it supersedes. Every
 * write sets every column, so the last one is the row after all of them, as applying the records in offset
 * order leaves it. Sending them all would not: the rows of one unlogged batch share a write timestamp, and
 * Cassandra settles a tie by a null (a delete) first, then by the greater value, not by the later statement;
 * across requests in flight, or a retry that gets a new timestamp, the order is not kept either.
 * https://docs.datastax.com/en/datastax-drivers/developing/query-timestamps.html
 */
export function lastWritePerRow(writes: readonly SinkWrite[]): {
  last: readonly SinkWrite[];
  earlier: Map<SinkWrite, SinkWrite[]>;
} {
  // On every write of every batch: one map per table, the key column's own value where there is one, and no
  // list unless a row is written twice (rare).
  const byTable = new Map<string, Map<unknown, number>>();
  let repeated = false;
  for (let i = 0; i < writes.length; i++) {
    const write = writes[i]!;
    let rows = byTable.get(write.table.name);
    if (!rows) byTable.set(write.table.name, (rows = new Map()));
    const key = rowKeyOf(write);
    if (rows.has(key)) repeated = true;
    rows.set(key, i);
  }
  if (!repeated) return { last: writes, earlier: new Map() };
  const lastIndex = new Set<number>();
  for (const rows of byTable.values()) for (const i of rows.values()) lastIndex.add(i);
  const last: SinkWrite[] = [];
  const earlier = new Map<SinkWrite, SinkWrite[]>();
  const pending = new Map<unknown, SinkWrite[]>();
  for (let i = 0; i < writes.length; i++) {
    const write = writes[i]!;
    const id = `${write.table.name}\u0000${keyPart(rowKeyOf(write))}`;
    if (!lastIndex.has(i)) {
      const list = pending.get(id);
      if (list) list.push(write);
      else pending.set(id, [write]);
      continue;
    }
    last.push(write);
    const before = pending.get(id);
    if (before) earlier.set(write, before);
  }
  return { last, earlier };
}

/** A row's key within its table: the key column's value itself where there is one column, else a string. */
function rowKeyOf(write: SinkWrite): unknown {
  const { table, values } = write;
  if (table.partitionKey.length === 1 && table.clustering.length === 0) {
    const v = values[table.partitionKey[0]!];
    // A column holds one type, so its values compare as they are; Dates by their time, not their identity.
    return v instanceof Date ? v.getTime() : v;
  }
  let key = '';
  // A tag per type, so that '5', 5 and 5n are three keys, and a length before text, which may hold the separator.
  for (const name of table.partitionKey) key += '\u0000' + keyPart(values[name]);
  for (const c of table.clustering) key += '\u0000' + keyPart(values[c.name]);
  return key;
}

function keyPart(v: unknown): string {
  switch (typeof v) {
    case 'string':
      // Its length first: a text key may hold the separator itself.
      return 's' + v.length + ':' + v;
    case 'number':
      return 'n' + v;
    case 'bigint':
      return 'b' + v;
    case 'boolean':
      return v ? 't' : 'f';
    default:
      return v instanceof Date
        ? 'd' + v.getTime()
        : v === null || v === undefined
          ? 'z'
          : 'j' + keyPart(JSON.stringify(v));
  }
}

export function planWriteGroups(
  writes: readonly SinkWrite[],
  statementOf: (table: TableDef) => string,
  maxStatements: number,
  maxBytes: number = MAX_BATCH_VALUE_BYTES,
): WriteGroup[] {
  const open = new Map<TableDef, { group: WriteGroup; bytes: number }>();
  const groups: WriteGroup[] = [];
  for (const write of writes) {
    const params: unknown[] = write.table.columns.map((c) => write.values[c.name] ?? null);
    const bytes = estimatedValueBytes(params);
    let current = open.get(write.table);
    if (
      !current ||
      current.group.writes.length >= maxStatements ||
      (current.group.writes.length > 0 && current.bytes + bytes > maxBytes)
    ) {
      current = { group: { cql: statementOf(write.table), writes: [], params: [] }, bytes: 0 };
      groups.push(current.group);
      open.set(write.table, current);
    }
    current.group.writes.push(write);
    current.group.params.push(params);
    current.bytes += bytes;
  }
  return groups;
}

const refParams = (ref: PartitionRef) => [ref.job, ref.topic, ref.partition];
const NO_CLAIM = '';

const bigintOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : (v as bigint));

/** The cursor columns, as every table that holds a cursor names them. */
function cursorFromRow(row: types.Row): Cursor {
  const claimId = row.get('claim_id') as string | null;
  const watermark = bigintOrNull(row.get('watermark_ms'));
  return {
    nextOffset: row.get('next_offset') as bigint,
    watermarkMs: watermark === null ? null : Number(watermark),
    claim: claimId
      ? { id: claimId, until: row.get('claim_until') as bigint, time: row.get('claim_time') as Date }
      : null,
    // Rows written before lanes existed have none: they are all lane 0.
    lane: bigintOrNull(row.get('lane')) ?? 0n,
  };
}

function cursorParams(c: Cursor): unknown[] {
  return [
    c.nextOffset,
    c.watermarkMs === null ? null : BigInt(c.watermarkMs),
    c.claim?.id ?? NO_CLAIM,
    c.claim?.until ?? null,
    c.claim?.time ?? null,
    c.lane,
  ];
}

/** A skipped range as JSON, for the checkpoint's `pending_skip` slot: bigints as strings, times as ISO. */
export function encodeSkippedRange(range: SkippedRange): string {
  return JSON.stringify(range, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

export function decodeSkippedRange(json: string): SkippedRange {
  const raw = JSON.parse(json, (_k, v: unknown) =>
    typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
  ) as SkippedRange & {
    detectedAt: string;
    redrivenAt: string | null;
    cursor: Cursor & { claim: { time: string } | null };
  };
  return {
    ...raw,
    detectedAt: new Date(raw.detectedAt),
    redrivenAt: raw.redrivenAt === null ? null : new Date(raw.redrivenAt),
    cursor: {
      ...raw.cursor,
      claim: raw.cursor.claim ? { ...raw.cursor.claim, time: new Date(raw.cursor.claim.time) } : null,
    },
  };
}

const CURSOR_COLUMNS = 'next_offset, watermark_ms, claim_id, claim_until, claim_time, lane';
const RANGE_COLUMNS =
  'from_offset, until_offset, reason, status, detected_at, detected_by, claimed, on_failure, redriven, lost, redriven_at';

export class CassandraCheckpointStore implements CheckpointStore {
  private readonly where = `WHERE ${col('job')} = ? AND ${col('topic')} = ? AND ${col('kafka_partition')} = ?`;
  private readonly table: string;
  private readonly skipped: string;

  /**
   * @param readConsistency how cursors are read. SERIAL on a plain Cassandra, so an in-flight
   *   compare-and-set is never missed. Keyspaces accepts only ONE, LOCAL_ONE and LOCAL_QUORUM for reads, and
   *   its LOCAL_QUORUM reads reflect every write acknowledged before them, lightweight transactions included;
   *   so does the local Keyspaces-strict mode.
   *   https://docs.aws.amazon.com/keyspaces/latest/devguide/consistency.html
   */
  constructor(
    private readonly client: Client,
    keyspace: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly readConsistency: number = checkpointReadConsistency(client),
  ) {
    this.table = qualified(keyspace, OFFSET_CHECKPOINTS);
    this.skipped = qualified(keyspace, SKIPPED_RANGES);
  }

  async read(ref: PartitionRef): Promise<Checkpoint | undefined> {
    const rs = await this.select(
      'reading the checkpoint',
      `SELECT ${CURSOR_COLUMNS}, first_offset, pending_skip FROM ${this.table} ${this.where}`,
      refParams(ref),
    );
    const row = rs.first();
    if (!row) return undefined;
    const pending = row.get('pending_skip') as string | null;
    return {
      ...cursorFromRow(row),
      firstOffset: bigintOrNull(row.get('first_offset')) ?? 0n,
      pendingSkip: pending ? decodeSkippedRange(pending) : null,
    };
  }

  async create(ref: PartitionRef, cp: Checkpoint): Promise<boolean> {
    return this.conditional('creating the checkpoint', () =>
      this.client.execute(
        `INSERT INTO ${this.table} (job, topic, kafka_partition, ${CURSOR_COLUMNS}, first_offset, pending_skip, updated_at) ` +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS',
        [...refParams(ref), ...this.checkpointParams(cp)],
      ),
    );
  }

  async compareAndSet(ref: PartitionRef, expected: CursorGuard, next: Checkpoint): Promise<boolean> {
    return this.conditional('moving the checkpoint', () =>
      this.client.execute(
        `UPDATE ${this.table} SET next_offset = ?, watermark_ms = ?, claim_id = ?, claim_until = ?, claim_time = ?, lane = ?, ` +
          `first_offset = ?, pending_skip = ?, updated_at = ? ${this.where} IF next_offset = ? AND claim_id = ?`,
        [
          ...this.checkpointParams(next),
          ...refParams(ref),
          expected.nextOffset,
          expected.claimId ?? NO_CLAIM,
        ],
      ),
    );
  }

  async listSkipped(ref: PartitionRef, before?: bigint): Promise<SkippedRange[]> {
    const rs = await this.select(
      'reading the skipped ranges',
      `SELECT ${RANGE_COLUMNS}, ${CURSOR_COLUMNS} FROM ${this.skipped} ${this.where}` +
        (before === undefined ? '' : ' AND from_offset < ?'),
      before === undefined ? refParams(ref) : [...refParams(ref), before],
    );
    return rs.rows.map((row) => this.rangeFromRow(row));
  }

  async readSkipped(ref: PartitionRef, fromOffset: bigint): Promise<SkippedRange | undefined> {
    const rs = await this.select(
      'reading a skipped range',
      `SELECT ${RANGE_COLUMNS}, ${CURSOR_COLUMNS} FROM ${this.skipped} ${this.where} AND from_offset = ?`,
      [...refParams(ref), fromOffset],
    );
    const row = rs.first();
    return row ? this.rangeFromRow(row) : undefined;
  }

  async registerSkipped(ref: PartitionRef, range: SkippedRange): Promise<boolean> {
    return this.conditional('registering a skipped range', () =>
      this.client.execute(
        `INSERT INTO ${this.skipped} (job, topic, kafka_partition, ${RANGE_COLUMNS}, ${CURSOR_COLUMNS}, updated_at) ` +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS',
        [...refParams(ref), ...this.rangeParams(range), new Date()],
      ),
    );
  }

  async updateSkipped(ref: PartitionRef, expected: CursorGuard, next: SkippedRange): Promise<boolean> {
    return this.conditional('moving a skipped range', () =>
      this.client.execute(
        `UPDATE ${this.skipped} SET until_offset = ?, reason = ?, status = ?, detected_at = ?, detected_by = ?, ` +
          'claimed = ?, on_failure = ?, redriven = ?, lost = ?, redriven_at = ?, next_offset = ?, watermark_ms = ?, ' +
          `claim_id = ?, claim_until = ?, claim_time = ?, lane = ?, updated_at = ? ${this.where} AND from_offset = ? ` +
          'IF next_offset = ? AND claim_id = ?',
        [
          ...this.rangeParams(next).slice(1),
          new Date(),
          ...refParams(ref),
          next.fromOffset,
          expected.nextOffset,
          expected.claimId ?? NO_CLAIM,
        ],
      ),
    );
  }

  private select(what: string, cql: string, params: unknown[]): Promise<types.ResultSet> {
    return withRetry(
      what,
      () => this.client.execute(cql, params, { consistency: this.readConsistency }),
      this.retry,
    );
  }

  private checkpointParams(cp: Checkpoint): unknown[] {
    return [
      ...cursorParams(cp),
      cp.firstOffset,
      cp.pendingSkip ? encodeSkippedRange(cp.pendingSkip) : null,
      new Date(),
    ];
  }

  private rangeParams(r: SkippedRange): unknown[] {
    return [
      r.fromOffset,
      r.untilOffset,
      r.reason,
      r.status,
      r.detectedAt,
      r.detectedBy,
      r.claimed,
      r.onFailure,
      r.redriven,
      r.lost,
      r.redrivenAt,
      ...cursorParams(r.cursor),
    ];
  }

  private rangeFromRow(row: types.Row): SkippedRange {
    return {
      fromOffset: row.get('from_offset') as bigint,
      untilOffset: row.get('until_offset') as bigint,
      reason: row.get('reason') as string,
      status: row.get('status') as SkippedStatus,
      detectedAt: row.get('detected_at') as Date,
      detectedBy: row.get('detected_by') as string,
      claimed: row.get('claimed') as boolean,
      onFailure: row.get('on_failure') as string | null,
      redriven: (row.get('redriven') as number | null) ?? 0,
      lost: bigintOrNull(row.get('lost')) ?? 0n,
      redrivenAt: row.get('redriven_at') as Date | null,
      cursor: cursorFromRow(row),
    };
  }

  /**
   * A compare-and-set, retried with backoff like any statement when its outcome is unknown (a timeout during
   * Paxos, overload, a throttled request, a connection lost mid-request). Sending it again is safe: if the first
   * one applied, the guard no longer holds and the retry reports "not applied", so the protocol re-reads the row
   * and decides from what is really there (a loop, never a wrong move; `next_offset` only grows, so a guard never
   * holds again once passed). When every attempt fails, the retriable `SinkError` that says why fails the batch,
   * and the event source retries it. Reporting an unknown outcome as "not applied" straight away sent the
   * protocol round its loop with no pause: a throttled table took 50 compare-and-sets in a few milliseconds,
   * then the batch failed as a contention error that blamed other invocations and dropped the cause.
   * https://docs.aws.amazon.com/keyspaces/latest/devguide/functional-differences.html#functional-differences.light-transactions
   */
  private async conditional(what: string, run: () => Promise<types.ResultSet>): Promise<boolean> {
    return (await withRetry(what, run, this.retry)).wasApplied();
  }
}

export class CassandraSinkStore implements SinkStore {
  private readonly inserts = new Map<string, string>();
  private readonly concurrency: number;
  private readonly batchStatements: number;
  private readonly retry: RetryPolicy;

  constructor(
    private readonly client: Client,
    private readonly keyspace: string,
    options: CassandraStoreOptions = {},
  ) {
    this.concurrency = options.writeConcurrency ?? DEFAULT_WRITE_CONCURRENCY;
    this.batchStatements = options.batchStatements ?? MAX_UNLOGGED_BATCH_STATEMENTS;
    if (
      !Number.isInteger(this.batchStatements) ||
      this.batchStatements < 1 ||
      this.batchStatements > MAX_UNLOGGED_BATCH_STATEMENTS
    ) {
      throw new RangeError(
        `CassandraSinkStore batchStatements must be an integer from 1 to ${MAX_UNLOGGED_BATCH_STATEMENTS} ` +
          `(Keyspaces' quota for an unlogged batch), received ${this.batchStatements}.`,
      );
    }
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new RangeError(
        `CassandraSinkStore writeConcurrency must be a positive integer, received ${this.concurrency}.`,
      );
    }
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  private statement(kind: 'insert' | 'create' | 'cas', table: TableDef): string {
    const id = `${kind}:${table.name}`;
    let cql = this.inserts.get(id);
    if (!cql) {
      cql =
        kind === 'cas'
          ? renderCompareAndSet(this.keyspace, table, 'covered_offset')
          : renderInsert(this.keyspace, table, { ifNotExists: kind === 'create' });
      this.inserts.set(id, cql);
    }
    return cql;
  }

  async write(writes: readonly SinkWrite[]): Promise<RejectedWrite[]> {
    const { last, earlier } = lastWritePerRow(writes);
    const groups = planWriteGroups(last, (t) => this.statement('insert', t), this.batchStatements);
    const outcomes = await mapBounded(groups, this.concurrency, (group) =>
      group.writes.length === 1
        ? this.writeOne(group.cql, group.writes[0]!, group.params[0]!)
        : this.writeBatch(group),
    );
    const rejected = outcomes.flat();
    // A row's last write refused for good: its earlier writes, in order, leave it as applying the records one
    // by one would have (rare: a value the server refuses).
    for (const { write } of [...rejected]) {
      for (const before of earlier.get(write) ?? []) {
        const params = before.table.columns.map((c) => before.values[c.name] ?? null);
        rejected.push(...(await this.writeOne(this.statement('insert', before.table), before, params)));
      }
    }
    return rejected;
  }

  /** One row; a value the server refuses for good is returned, to be dead-lettered. */
  private async writeOne(cql: string, write: SinkWrite, params: unknown[]): Promise<RejectedWrite[]> {
    try {
      // Idempotent by construction (the same values on every attempt), so the driver may retry it too.
      await withRetry(
        `writing ${write.table.name}`,
        () => this.client.execute(cql, params, { isIdempotent: true }),
        this.retry,
      );
      return [];
    } catch (error) {
      if (error instanceof SinkError && !error.retriable) return [{ write, error }];
      throw error;
    }
  }

  /**
   * Rows of one table in one unlogged batch. If the server refuses the batch for good (a value it does not
   * accept), the rows are written one by one, so that only the refused ones are dead-lettered; the rows of the
   * batch that did apply are upserted again with the same values, which changes nothing.
   */
  private async writeBatch(group: WriteGroup): Promise<RejectedWrite[]> {
    const queries = group.params.map((params) => ({ query: group.cql, params }));
    try {
      await withRetry(
        `writing ${group.writes.length} rows of ${group.writes[0]!.table.name}`,
        () => this.client.batch(queries, { prepare: true, logged: false, isIdempotent: true }),
        this.retry,
      );
      return [];
    } catch (error) {
      if (!(error instanceof SinkError) || error.retriable) throw error;
    }
    const rejected: RejectedWrite[] = [];
    for (let i = 0; i < group.writes.length; i++)
      rejected.push(...(await this.writeOne(group.cql, group.writes[i]!, group.params[i]!)));
    return rejected;
  }

  async readPartials(
    table: TableDef,
    windowSpec: string,
    lane: PartialLane,
    keys: readonly PartialKey[],
  ): Promise<Map<string, StoredPartial>> {
    const cql =
      `SELECT reading_count, value_sum, value_min, value_max, covered_offset FROM ${qualified(this.keyspace, table)} ` +
      `WHERE ${col(windowKeyColumn(table))} = ? AND window_spec = ? AND window_start = ? AND topic = ? AND kafka_partition = ? AND lane = ?`;
    const out = new Map<string, StoredPartial>();
    await mapBounded(keys, this.concurrency, async (key) => {
      const rs = await withRetry(
        'reading a window partial',
        () =>
          this.client.execute(cql, [
            key.key,
            windowSpec,
            new Date(key.windowStart),
            lane.topic,
            lane.partition,
            lane.lane,
          ]),
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

  async compareAndSetPartial(
    table: TableDef,
    row: Readonly<Record<string, unknown>>,
    expectedCovered: bigint | null,
  ): Promise<boolean> {
    const value = (c: string) => row[c] ?? null;
    const [cql, params] =
      expectedCovered === null
        ? [this.statement('create', table), table.columns.map((c) => value(c.name))]
        : [
            this.statement('cas', table),
            [
              ...regularColumns(table).map((c) => value(c.name)),
              ...keyColumns(table).map(value),
              expectedCovered,
            ],
          ];
    // A compare-and-set whose outcome is unknown is sent again, after a backoff: if the first one applied, the
    // retry finds the covered offset moved and reports "not applied", and the caller re-reads the partial and
    // folds only what it does not cover (see `CassandraCheckpointStore.conditional`).
    return (
      await withRetry(`folding a ${table.name} partial`, () => this.client.execute(cql, params), this.retry)
    ).wasApplied();
  }

  async recordBatch(entry: LedgerEntry): Promise<void> {
    const asJson = (v: unknown) =>
      JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
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
      offset_ranges: asJson(entry.offsetRanges),
      watermark_ms: entry.watermarkMs === null ? null : BigInt(entry.watermarkMs),
      mode: entry.mode,
      skipped: Number(entry.skipped),
      filtered: Number(entry.filtered),
      deferred: entry.deferred,
      lost: entry.lost,
      phase_read_claim_ms: entry.phases.readClaimMs,
      phase_transform_ms: entry.phases.transformMs,
      phase_effects_ms: entry.phases.effectsMs,
      phase_commit_ms: entry.phases.commitMs,
      oldest_record_at: entry.recordTimestamps && new Date(entry.recordTimestamps.oldestMs),
      newest_record_at: entry.recordTimestamps && new Date(entry.recordTimestamps.newestMs),
      partitions: asJson(
        entry.partitions.map((p) => ({
          topic: p.topic,
          partition: p.partition,
          fromOffset: p.fromOffset,
          untilOffset: p.untilOffset,
          nextBefore: p.nextBefore,
          nextAfter: p.nextAfter,
          claimId: p.claimId,
          claimTime: p.claimTime?.toISOString() ?? null,
          resumedClaim: p.resumedClaim && {
            id: p.resumedClaim.id,
            time: p.resumedClaim.time.toISOString(),
            until: p.resumedClaim.until,
          },
          applied: p.applied,
          written: p.written,
          duplicates: p.duplicates,
          deadLettered: p.deadLettered,
          late: p.late,
          skipped: p.skipped,
          filtered: p.filtered,
          deferred: p.deferred,
          lost: p.lost,
          watermarkMs: p.watermarkMs,
        })),
      ),
    };
    await withRetry(
      'writing the batch ledger',
      () =>
        this.client.execute(
          this.statement('insert', BATCH_LEDGER),
          BATCH_LEDGER.columns.map((c) => values[c.name] ?? null),
        ),
      this.retry,
    );
  }
}
