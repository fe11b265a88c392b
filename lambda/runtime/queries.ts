/**
 * Reads the results back, for the query function and the local `query` CLI alike (the UI reads through
 * local/ui/data.ts).
 * Window results are merged across Kafka partitions here, on read (see `windowTable` in the schema).
 */
import type { Client, types } from 'cassandra-driver';
import { BATCH_LEDGER, DEAD_LETTERS, col, qualified } from '../../schema';
import type { TransformJobView, WindowJobView } from '../../config/jobs';
import { mergePartials } from './windows';
import type { BatchMode, LedgerEntry, PhaseTimings, RecordTimestamps } from './store';

/**
 * A query parameter's integer, in decimal digits only: Number() also reads '0x10', '1e2', ' 5' and '1.0', and
 * answered a page of what such a value happened to mean. NaN for anything else, which the caller refuses by name.
 * For the query function and the local UI's API alike.
 */
export function integerParam(text: string): number {
  return /^-?\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
}

/** A row of a job's table, by column name (bigint columns as strings, timestamps as ISO-8601). */
export type TableRow = Readonly<Record<string, string | number | boolean | null>>;

function plain(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  // bigint, Long, and anything else the driver returns: their text is exact.
  return String(value);
}

/** Orders rows by their primary key, newest (largest) first: for a time-keyed table, the newest rows. */
function byKeyDescending(keys: readonly string[]): (a: TableRow, b: TableRow) => number {
  return (a, b) => {
    for (const k of keys) {
      const x = a[k] ?? '';
      const y = b[k] ?? '';
      if (x < y) return 1;
      if (x > y) return -1;
    }
    return 0;
  };
}

/**
 * The newest rows of a transform job's table. A table keyed by time alone (like `sent_received`, keyed by
 * `time_sent`) cannot be ordered by Cassandra: this reads up to `scanLimit` rows and sorts them by key. Fine at
 * a tutorial's scale; the limit keeps it bounded, and `total` is undefined when it was reached.
 */
export async function recentRows(
  client: Client,
  keyspace: string,
  view: Pick<TransformJobView, 'table' | 'columns' | 'key'>,
  limit = 20,
  scanLimit = 10_000,
): Promise<{ rows: TableRow[]; scanned: number; total: number | undefined }> {
  const columns = view.columns;
  const query = `SELECT ${columns.map(col).join(', ')} FROM ${qualified(keyspace, view.table)}`;
  const rows: TableRow[] = [];
  let scanned = 0;
  let complete = true;
  let pageState: string | undefined;
  do {
    const rs = await client.execute(query, [], {
      prepare: true,
      fetchSize: Math.min(1000, scanLimit - scanned + 1),
      pageState,
    });
    for (const row of rs.rows) {
      if (scanned++ >= scanLimit) {
        complete = false;
        break;
      }
      rows.push(Object.fromEntries(columns.map((c) => [c, plain(row.get(c))])));
    }
    pageState = complete ? rs.pageState : undefined;
  } while (pageState);
  rows.sort(byKeyDescending(view.key));
  return {
    rows: rows.slice(0, limit),
    scanned: Math.min(scanned, scanLimit),
    total: complete ? scanned : undefined,
  };
}

export interface WindowResult {
  /** The value of the window table's key column (the sensor, the page ...). */
  readonly key: string;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** How many Kafka partitions contributed. */
  readonly partitions: number;
}

/** The windows of one key, merged across Kafka partitions and lanes, oldest first. */
export async function windowResults(
  client: Client,
  keyspace: string,
  args: {
    readonly view: Pick<WindowJobView, 'table' | 'keyColumn'>;
    readonly key: string;
    readonly windowSpec: string;
    readonly from: Date;
    readonly to: Date;
  },
): Promise<WindowResult[]> {
  const rs = await client.execute(
    `SELECT window_start, window_end, topic, kafka_partition, reading_count, value_sum, value_min, value_max FROM ${qualified(keyspace, args.view.table)} ` +
      `WHERE ${col(args.view.keyColumn)} = ? AND window_spec = ? AND window_start >= ? AND window_start < ?`,
    [args.key, args.windowSpec, args.from, args.to],
    { prepare: true, fetchSize: 5000 },
  );
  const byWindow = new Map<
    number,
    {
      end: Date;
      partials: Array<{ count: number; sum: number; min: number; max: number }>;
      partitions: Set<string>;
    }
  >();
  for (const row of rs.rows) {
    const start = (row.get('window_start') as Date).getTime();
    let entry = byWindow.get(start);
    if (!entry)
      byWindow.set(
        start,
        (entry = { end: row.get('window_end') as Date, partials: [], partitions: new Set() }),
      );
    // A partition may hold several lanes (after a skipped range); each lane is a partial of its own.
    entry.partitions.add(`${row.get('topic') as string}-${row.get('kafka_partition') as number}`);
    entry.partials.push({
      count: Number(row.get('reading_count') as bigint),
      sum: row.get('value_sum') as number,
      min: row.get('value_min') as number,
      max: row.get('value_max') as number,
    });
  }
  return [...byWindow.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, { end, partials, partitions }]) => ({
      key: args.key,
      windowStart: new Date(start),
      windowEnd: end,
      partitions: partitions.size,
      ...mergePartials(partials)!,
    }));
}

/**
 * The keys a window table holds for one window spec, sorted, at most `limit` (for `microbatch query` without a
 * key). A scan of the partition keys, bounded by `scanLimit`: a tool for a look, not for a hot path.
 */
export async function windowKeys(
  client: Client,
  keyspace: string,
  view: Pick<WindowJobView, 'table' | 'keyColumn'>,
  windowSpec: string,
  limit = 20,
  scanLimit = 10_000,
): Promise<string[]> {
  const keys: string[] = [];
  let scanned = 0;
  let pageState: string | undefined;
  do {
    const rs = await client.execute(
      `SELECT DISTINCT ${col(view.keyColumn)}, window_spec FROM ${qualified(keyspace, view.table)}`,
      [],
      { prepare: true, fetchSize: 1000, pageState },
    );
    for (const row of rs.rows) {
      scanned++;
      if (row.get('window_spec') === windowSpec) keys.push(row.get(view.keyColumn) as string);
    }
    pageState = rs.pageState;
  } while (pageState && scanned < scanLimit);
  return keys.sort().slice(0, limit);
}

/** One partition of a ledger row, as read back from its JSON: offsets and counts are numbers. */
export interface LedgerPartition {
  readonly topic: string;
  readonly partition: number;
  readonly fromOffset: number;
  readonly untilOffset: number;
  readonly nextBefore: number | null;
  readonly nextAfter: number | null;
  readonly claimId: string | null;
  readonly claimTime: string | null;
  readonly applied: number;
  readonly written: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  readonly late: number;
  readonly skipped: number;
  readonly filtered: number;
  readonly deferred: number;
  readonly lost: number;
  readonly watermarkMs: number | null;
}

/**
 * A ledger row as read back: offsets come back from JSON as numbers. Rows written before a column existed
 * have it null.
 */
export interface LedgerRow extends Omit<
  LedgerEntry,
  'offsetRanges' | 'mode' | 'deferred' | 'skipped' | 'filtered' | 'lost' | 'phases' | 'partitions'
> {
  readonly offsetRanges: Array<{ topic: string; partition: number; fromOffset: number; untilOffset: number }>;
  readonly mode: BatchMode | null;
  readonly deferred: number | null;
  readonly skipped: number | null;
  readonly filtered: number | null;
  /** A number, like every count here, so that a row is plain JSON. */
  readonly lost: number | null;
  readonly phases: PhaseTimings | null;
  readonly partitions: LedgerPartition[] | null;
}

/** Reads one `batch_ledger` row (selected with `*`). */
export function ledgerRowFrom(job: string, r: types.Row): LedgerRow {
  const phase = (c: string) => r.get(c) as number | null;
  const phases =
    phase('phase_read_claim_ms') === null
      ? null
      : {
          readClaimMs: phase('phase_read_claim_ms')!,
          transformMs: phase('phase_transform_ms') ?? 0,
          effectsMs: phase('phase_effects_ms') ?? 0,
          commitMs: phase('phase_commit_ms') ?? 0,
        };
  const partitions = r.get('partitions') as string | null;
  return {
    job,
    batchId: r.get('batch_id') as string,
    mode: (r.get('mode') as BatchMode | null) ?? null,
    startedAt: r.get('started_at') as Date,
    durationMs: r.get('duration_ms') as number,
    recordsIn: r.get('records_in') as number,
    written: r.get('written') as number,
    duplicates: r.get('duplicates') as number,
    deadLettered: r.get('dead_lettered') as number,
    late: r.get('late') as number,
    deferred: r.get('deferred') as number | null,
    skipped: r.get('skipped') as number | null,
    filtered: r.get('filtered') as number | null,
    lost: r.get('lost') === null ? null : Number(r.get('lost') as bigint),
    offsetRanges: JSON.parse((r.get('offset_ranges') as string) ?? '[]') as LedgerRow['offsetRanges'],
    watermarkMs: r.get('watermark_ms') === null ? null : Number(r.get('watermark_ms') as bigint),
    recordTimestamps: recordTimestampsFrom(r.get('oldest_record_at'), r.get('newest_record_at')),
    phases,
    partitions: partitions === null ? null : (JSON.parse(partitions) as LedgerPartition[]),
  };
}

/** The record timestamps of a ledger row; null on rows written before the columns existed. */
export function recordTimestampsFrom(oldest: unknown, newest: unknown): RecordTimestamps | null {
  return oldest instanceof Date && newest instanceof Date
    ? { oldestMs: oldest.getTime(), newestMs: newest.getTime() }
    : null;
}

/** The newest batches of a job, from today's and yesterday's ledger partitions. */
export async function recentBatches(
  client: Client,
  keyspace: string,
  job: string,
  limit = 20,
  now = new Date(),
): Promise<LedgerRow[]> {
  const days = [0, 1].map((d) => new Date(now.getTime() - d * 86_400_000).toISOString().slice(0, 10));
  const out: LedgerRow[] = [];
  for (const day of days) {
    if (out.length >= limit) break;
    const rs = await client.execute(
      `SELECT * FROM ${qualified(keyspace, BATCH_LEDGER)} WHERE job = ? AND day = ? LIMIT ?`,
      [job, day, limit - out.length],
      { prepare: true },
    );
    for (const r of rs.rows) out.push(ledgerRowFrom(job, r));
  }
  return out;
}

export interface DeadLetterRow {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly reason: string;
  readonly detail: string;
  readonly valueBase64: string | null;
  /** The record's Kafka timestamp; null when it had none a Date holds. */
  readonly recordTimestamp: Date | null;
}

/** The newest dead letters of one Kafka partition, newest first. */
export async function deadLetters(
  client: Client,
  keyspace: string,
  job: string,
  topic: string,
  partition: number,
  limit = 100,
): Promise<DeadLetterRow[]> {
  const rs = await client.execute(
    `SELECT kafka_offset, reason, detail, value_b64, record_timestamp FROM ${qualified(keyspace, DEAD_LETTERS)} WHERE job = ? AND topic = ? AND kafka_partition = ? ORDER BY kafka_offset DESC LIMIT ?`,
    [job, topic, partition, limit],
    { prepare: true },
  );
  return rs.rows.map((r) => ({
    topic,
    partition,
    offset: r.get('kafka_offset') as bigint,
    reason: r.get('reason') as string,
    detail: r.get('detail') as string,
    valueBase64: r.get('value_b64') as string | null,
    recordTimestamp: (r.get('record_timestamp') as Date | null) ?? null,
  }));
}

/**
 * The newest `limit` of several partitions' dead letters: by record time, newest first (a partition's own are
 * in offset order, which is time order within it), those without a time last.
 */
export function newestDeadLetters(rows: readonly DeadLetterRow[], limit: number): DeadLetterRow[] {
  const time = (d: DeadLetterRow) => d.recordTimestamp?.getTime() ?? -Infinity;
  return [...rows].sort((a, b) => time(b) - time(a) || Number(b.offset - a.offset)).slice(0, limit);
}
