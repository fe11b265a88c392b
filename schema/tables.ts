/**
 * The one definition of every table the pipeline uses.
 *
 * No table uses client-side timestamps (`USING TIMESTAMP`): Keyspaces accepts them only within two days before
 * and five minutes after the current time, so a write time derived from anything but the clock cannot be
 * replayed there. Idempotence comes from pinned values and compare-and-set instead (see
 * lambda/runtime/checkpoint.ts).
 * https://docs.aws.amazon.com/keyspaces/latest/devguide/client-side-timestamps-how-to-queries.html
 *
 * Plain data with no CDK or driver imports: the CDK stacks build `AWS::Cassandra::Table` from it and the local
 * setup renders its CQL DDL (see `cql.ts`), so both follow a change here. The jobs' sink and window statements
 * are rendered from the same column lists (`renderInsert`, `renderCompareAndSet`); the statements on the
 * runtime's own tables (checkpoints, skipped ranges, ledger, dead letters, UI metrics) name their columns, and
 * the integration tests run them against the tables this file creates, so a renamed column fails
 * there rather than in production.
 */

/** The CQL types the pipeline uses. Keyspaces supports each of them. */
export const CQL_TYPES = ['text', 'int', 'bigint', 'double', 'timestamp', 'boolean'] as const;
export type CqlType = (typeof CQL_TYPES)[number];

/** The longest default TTL a table may have, in Keyspaces as in Cassandra: 20 years, in seconds. */
export const MAX_TTL_SECONDS = 630_720_000;

export interface ColumnDef {
  readonly name: string;
  readonly type: CqlType;
  /** Why the column exists, shown in the README and in the DDL comments. */
  readonly doc: string;
}

export interface ClusteringDef {
  readonly name: string;
  readonly order: 'ASC' | 'DESC';
}

export interface TableDef {
  readonly name: string;
  readonly doc: string;
  readonly columns: readonly ColumnDef[];
  /** Partition key columns, in order. */
  readonly partitionKey: readonly string[];
  /** Clustering columns, in order. */
  readonly clustering: readonly ClusteringDef[];
  /**
   * Default time to live in seconds; 0 keeps rows forever. The config can override it per table.
   */
  readonly defaultTtlSeconds: number;
}

const DAY = 24 * 60 * 60;

/** The tutorial's table, exactly: `test_time.sent_received (time_sent text PRIMARY KEY, time_received text)`. */
export const SENT_RECEIVED: TableDef = {
  name: 'sent_received',
  doc: 'The tutorial: when each record was sent, and when the pipeline received it.',
  columns: [
    { name: 'time_sent', type: 'text', doc: 'The record value: the time the producer sent it.' },
    { name: 'time_received', type: 'text', doc: 'The processing time of the micro-batch that took it.' },
  ],
  partitionKey: ['time_sent'],
  clustering: [],
  defaultTtlSeconds: 0,
};

/**
 * A table of window partials, the shape every window job writes: one row per (key, window, topic, partition,
 * lane), keyed by the job's own key column (`sensor_id` for sensor-stats).
 * Keeping one partial per Kafka partition (instead of a counter) lets each partition's writer be idempotent on
 * its own; readers merge the partitions. `window_spec` is in the partition key so that a change of window size
 * starts a new series instead of corrupting the old one.
 *
 * A *lane* is a run of offsets folded in offset order, so that `covered_offset` can tell what a partial already
 * holds. The live job folds into one lane; when the event source skips a range, the live job goes on in a new
 * lane and the range, redriven later and out of order, folds into the lane its first attempt used (see
 * lambda/runtime/checkpoint.ts, "Skipped ranges").
 */
export function windowTable(spec: {
  readonly name: string;
  readonly doc: string;
  /** The key the window job groups by, e.g. `sensor_id`. */
  readonly keyColumn: string;
  readonly keyDoc: string;
  /** @default - 30 days */
  readonly defaultTtlSeconds?: number;
}): TableDef {
  return {
    name: spec.name,
    doc: spec.doc,
    columns: [
      { name: spec.keyColumn, type: 'text', doc: spec.keyDoc },
      { name: 'window_spec', type: 'text', doc: "The window definition, e.g. 'tumbling:60000'." },
      { name: 'window_start', type: 'timestamp', doc: 'Inclusive start of the event-time window.' },
      { name: 'topic', type: 'text', doc: 'Kafka topic of the partial.' },
      { name: 'kafka_partition', type: 'int', doc: 'Kafka partition of the partial.' },
      {
        name: 'lane',
        type: 'bigint',
        doc: 'The lane of the partial: the offset its run of offsets starts at (negative: a redrive lane).',
      },
      { name: 'window_end', type: 'timestamp', doc: 'Exclusive end of the window.' },
      { name: 'reading_count', type: 'bigint', doc: 'Readings in the window.' },
      { name: 'value_sum', type: 'double', doc: 'Sum of the readings.' },
      { name: 'value_min', type: 'double', doc: 'Smallest reading.' },
      { name: 'value_max', type: 'double', doc: 'Largest reading.' },
      {
        name: 'covered_offset',
        type: 'bigint',
        doc: 'The last offset folded into this partial; records at or below it are never folded again.',
      },
    ],
    partitionKey: [spec.keyColumn, 'window_spec'],
    clustering: [
      { name: 'window_start', order: 'ASC' },
      { name: 'topic', order: 'ASC' },
      { name: 'kafka_partition', order: 'ASC' },
      { name: 'lane', order: 'ASC' },
    ],
    defaultTtlSeconds: spec.defaultTtlSeconds ?? 30 * DAY,
  };
}

/** The key column of a window table: its first partition key column. */
export function windowKeyColumn(table: TableDef): string {
  return table.partitionKey[0]!;
}

/** Throws unless `table` has the shape `windowTable()` gives (a window job folds its partials into it). */
export function assertWindowTable(table: TableDef): void {
  const keyColumn = table.columns[0]?.name ?? '';
  const expected = windowTable({ name: table.name, doc: table.doc, keyColumn, keyDoc: '' });
  const shape = (t: TableDef) =>
    JSON.stringify([t.columns.map((c) => [c.name, c.type]), t.partitionKey, t.clustering]);
  if (shape(table) !== shape(expected)) {
    throw new Error(
      `Table '${table.name}' is not a window table: a window job writes partials into a table made with ` +
        `windowTable({ name, doc, keyColumn, keyDoc }) from schema/tables.ts.`,
    );
  }
}

/** sensor-stats: count, sum, min and max per sensor and event-time window. */
export const SENSOR_STATS: TableDef = windowTable({
  name: 'sensor_stats',
  doc: 'sensor-stats: count, sum, min and max per sensor and event-time window, one partial per Kafka partition.',
  keyColumn: 'sensor_id',
  keyDoc: 'The sensor.',
});

/** page-views: views per page and event-time window (a keyed running count). */
export const PAGE_VIEW_COUNTS: TableDef = windowTable({
  name: 'page_view_counts',
  doc: 'page-views: views per page and event-time window, one partial per Kafka partition.',
  keyColumn: 'page',
  keyDoc: 'The page path.',
});

/** The offset checkpoint: the next offset to read, per (job, topic, partition). Only ever changed by LWT. */
export const OFFSET_CHECKPOINTS: TableDef = {
  name: 'offset_checkpoints',
  doc: 'Exactly-once bookkeeping: the next offset to read per (job, topic, partition), and the open claim.',
  columns: [
    { name: 'job', type: 'text', doc: 'The job name.' },
    { name: 'topic', type: 'text', doc: 'Kafka topic.' },
    { name: 'kafka_partition', type: 'int', doc: 'Kafka partition.' },
    { name: 'next_offset', type: 'bigint', doc: 'The next offset to read: last applied + 1.' },
    { name: 'watermark_ms', type: 'bigint', doc: 'Event-time watermark at next_offset, in epoch ms.' },
    { name: 'claim_id', type: 'text', doc: 'The batch that claimed [next_offset, claim_until).' },
    { name: 'claim_until', type: 'bigint', doc: 'Exclusive end of the claimed offset range.' },
    {
      name: 'claim_time',
      type: 'timestamp',
      doc: 'The processing time pinned for the claimed range, so a replay writes identical rows.',
    },
    { name: 'lane', type: 'bigint', doc: 'The window-partial lane of the offsets from next_offset on.' },
    { name: 'first_offset', type: 'bigint', doc: 'The offset the checkpoint was created at.' },
    {
      name: 'pending_skip',
      type: 'text',
      doc: 'JSON: a skipped range registered by the last move and not yet copied to skipped_ranges.',
    },
    { name: 'updated_at', type: 'timestamp', doc: 'Wall-clock time of the last change.' },
  ],
  partitionKey: ['job', 'topic', 'kafka_partition'],
  clustering: [],
  defaultTtlSeconds: 0,
};

/**
 * Offset ranges the event source gave up on (retries exhausted, record too old, a batch sent to the on-failure
 * destination) or that the checkpoint found missing. Each is kept until it is redriven: nothing is written off
 * without a row here. The cursor columns are the range's own checkpoint, so a redrive is exactly-once by the
 * same protocol as the live job. Only ever changed by LWT.
 */
export const SKIPPED_RANGES: TableDef = {
  name: 'skipped_ranges',
  doc: 'Ranges the event source skipped: why, how much of each was applied, and the redrive progress.',
  columns: [
    { name: 'job', type: 'text', doc: 'The job name.' },
    { name: 'topic', type: 'text', doc: 'Kafka topic.' },
    { name: 'kafka_partition', type: 'int', doc: 'Kafka partition.' },
    { name: 'from_offset', type: 'bigint', doc: 'First offset of the range.' },
    { name: 'until_offset', type: 'bigint', doc: 'Exclusive end of the range.' },
    {
      name: 'reason',
      type: 'text',
      doc: "Why: 'gap' (found by the checkpoint) or the on-failure condition, e.g. RetryAttemptsExhausted.",
    },
    { name: 'status', type: 'text', doc: "'pending' until redriven, then 'redriven' (or 'lost')." },
    { name: 'detected_at', type: 'timestamp', doc: 'When the range was registered.' },
    { name: 'detected_by', type: 'text', doc: 'The batch (or redrive) that registered it.' },
    {
      name: 'claimed',
      type: 'boolean',
      doc: 'A failed attempt had claimed part of it, so some of its effects may already be written.',
    },
    { name: 'on_failure', type: 'text', doc: 'The on-failure record it came with (JSON), when known.' },
    { name: 'next_offset', type: 'bigint', doc: 'Redrive cursor: the next offset of the range to apply.' },
    { name: 'watermark_ms', type: 'bigint', doc: 'Redrive cursor: the watermark at next_offset.' },
    { name: 'claim_id', type: 'text', doc: 'Redrive cursor: the open claim.' },
    { name: 'claim_until', type: 'bigint', doc: 'Redrive cursor: exclusive end of the claim.' },
    { name: 'claim_time', type: 'timestamp', doc: 'Redrive cursor: the pinned processing time.' },
    { name: 'lane', type: 'bigint', doc: 'The window-partial lane the range folds into.' },
    { name: 'redriven', type: 'int', doc: 'Records whose effects a redrive committed.' },
    { name: 'lost', type: 'bigint', doc: 'Offsets a redrive found gone from Kafka (retention).' },
    { name: 'redriven_at', type: 'timestamp', doc: 'When the redrive finished.' },
    { name: 'updated_at', type: 'timestamp', doc: 'Wall-clock time of the last change.' },
  ],
  partitionKey: ['job', 'topic', 'kafka_partition'],
  clustering: [{ name: 'from_offset', order: 'ASC' }],
  defaultTtlSeconds: 0,
};

/** One row per micro-batch: what the status CLI and the status page read. */
export const BATCH_LEDGER: TableDef = {
  name: 'batch_ledger',
  doc: 'One row per micro-batch: offset ranges, counts, duration, watermark.',
  columns: [
    { name: 'job', type: 'text', doc: 'The job name.' },
    { name: 'day', type: 'text', doc: 'UTC day (YYYY-MM-DD) of started_at: bounds the partition size.' },
    { name: 'started_at', type: 'timestamp', doc: 'When the batch started.' },
    { name: 'batch_id', type: 'text', doc: 'Unique batch id.' },
    { name: 'duration_ms', type: 'int', doc: 'Wall-clock duration of the batch.' },
    { name: 'records_in', type: 'int', doc: 'Records in the event.' },
    { name: 'written', type: 'int', doc: 'Records whose effects were written.' },
    { name: 'duplicates', type: 'int', doc: 'Records skipped because they were below the checkpoint.' },
    { name: 'dead_lettered', type: 'int', doc: 'Records sent to the dead letters (late ones included).' },
    { name: 'late', type: 'int', doc: 'Records behind the watermark.' },
    { name: 'offset_ranges', type: 'text', doc: 'JSON: [{topic, partition, fromOffset, untilOffset}].' },
    { name: 'watermark_ms', type: 'bigint', doc: 'Smallest partition watermark after the batch, epoch ms.' },
    { name: 'mode', type: 'text', doc: "'live' (the event source), 'replay' or 'redrive'." },
    { name: 'skipped', type: 'int', doc: 'Offsets registered as skipped ranges by this batch.' },
    { name: 'filtered', type: 'int', doc: "Offsets the event source's filters dropped before this batch." },
    { name: 'deferred', type: 'int', doc: 'Records left to the live job (replay) or to a later redrive.' },
    { name: 'lost', type: 'bigint', doc: 'Offsets found gone from Kafka (retention), by a redrive.' },
    {
      name: 'phase_read_claim_ms',
      type: 'int',
      doc: 'Time reading the checkpoint and claiming (the partition that finished last).',
    },
    { name: 'phase_transform_ms', type: 'int', doc: 'Time decoding and transforming (same partition).' },
    { name: 'phase_effects_ms', type: 'int', doc: 'Time writing the effects (same partition).' },
    { name: 'phase_commit_ms', type: 'int', doc: 'Time moving the checkpoint (same partition).' },
    {
      name: 'partitions',
      type: 'text',
      doc: 'JSON: per Kafka partition, its range, counts, and the checkpoint and claim before and after.',
    },
    {
      name: 'oldest_record_at',
      type: 'timestamp',
      doc: "Kafka timestamp of the batch's oldest record (CreateTime: the producer's clock; LogAppendTime: the broker's).",
    },
    { name: 'newest_record_at', type: 'timestamp', doc: "Kafka timestamp of the batch's newest record." },
  ],
  partitionKey: ['job', 'day'],
  clustering: [
    { name: 'started_at', order: 'DESC' },
    { name: 'batch_id', order: 'ASC' },
  ],
  defaultTtlSeconds: 30 * DAY,
};

/** Records that could not be applied, with the reason. Keyed by offset, so a replay rewrites the same row. */
export const DEAD_LETTERS: TableDef = {
  name: 'dead_letters',
  doc: 'Records that could not be applied: topic, partition, offset, reason and raw payload.',
  columns: [
    { name: 'job', type: 'text', doc: 'The job name.' },
    { name: 'topic', type: 'text', doc: 'Kafka topic.' },
    { name: 'kafka_partition', type: 'int', doc: 'Kafka partition.' },
    { name: 'kafka_offset', type: 'bigint', doc: 'Kafka offset.' },
    { name: 'reason', type: 'text', doc: 'Machine-readable reason, e.g. invalid-json, schema, late.' },
    { name: 'detail', type: 'text', doc: 'Human-readable detail: what is wrong and how to fix it.' },
    { name: 'key_b64', type: 'text', doc: 'Raw key, base64, or null.' },
    { name: 'value_b64', type: 'text', doc: 'Raw value, base64, or null.' },
    { name: 'record_timestamp', type: 'timestamp', doc: 'Kafka record timestamp.' },
  ],
  partitionKey: ['job', 'topic', 'kafka_partition'],
  clustering: [{ name: 'kafka_offset', order: 'ASC' }],
  defaultTtlSeconds: 0,
};

/**
 * What the UI on port 4040 charts, written by the UI server itself (local/ui/sampler.ts), never by a job:
 * consumer lag per Kafka partition sampled every few seconds, and per-minute rollups of the batch ledger. A
 * 24-hour chart then reads about 1,440 rows of two partitions instead of every batch of the day. Rows are
 * keyed by time on a fixed grid, so two UI servers watching the same jobs write the same rows. The TTL covers
 * the longest range the UI offers (24 h) with a day to spare.
 */
export const UI_METRICS: TableDef = {
  name: 'ui_metrics',
  doc: 'UI samples: consumer lag per partition every few seconds, and per-minute rollups of the batch ledger.',
  columns: [
    { name: 'job', type: 'text', doc: 'The job name.' },
    {
      name: 'resolution',
      type: 'text',
      doc: "'5s': a lag sample every 5 seconds; '1m': one row per minute, lag and the ledger rollup.",
    },
    {
      name: 'bucket',
      type: 'text',
      doc: "UTC hour (YYYY-MM-DDTHH) of `at` for '5s', UTC day (YYYY-MM-DD) for '1m': bounds the partition size.",
    },
    { name: 'at', type: 'timestamp', doc: 'Sample time, or the start of the minute of a rollup.' },
    {
      name: 'lag',
      type: 'text',
      doc: 'JSON: [{topic, partition, endOffset, committed, records, seconds}] per Kafka partition.',
    },
    { name: 'lag_records', type: 'bigint', doc: 'Records behind, over all partitions.' },
    { name: 'lag_seconds', type: 'double', doc: 'Estimated time behind of the partition furthest behind.' },
    { name: 'group_members', type: 'int', doc: 'Members of the consumer group when sampled.' },
    { name: 'group_state', type: 'text', doc: "The consumer group's state, e.g. Stable, Empty." },
    { name: 'batches', type: 'int', doc: 'Rollup: batches started in the minute.' },
    {
      name: 'records_in',
      type: 'bigint',
      doc: "Rollup: the live stream's records in (not a replay's or a redrive's).",
    },
    { name: 'written', type: 'bigint', doc: 'Rollup: records written.' },
    { name: 'dead_lettered', type: 'bigint', doc: 'Rollup: records dead-lettered (late ones included).' },
    { name: 'late', type: 'bigint', doc: 'Rollup: records behind the watermark.' },
    { name: 'duration_ms_sum', type: 'bigint', doc: 'Rollup: summed batch durations.' },
    { name: 'duration_ms_max', type: 'int', doc: 'Rollup: longest batch.' },
    { name: 'phased_batches', type: 'int', doc: 'Rollup: batches that recorded phase timings.' },
    { name: 'phase_read_claim_ms_sum', type: 'bigint', doc: 'Rollup: checkpoint read and claim.' },
    { name: 'phase_transform_ms_sum', type: 'bigint', doc: 'Rollup: decode and transform.' },
    { name: 'phase_effects_ms_sum', type: 'bigint', doc: 'Rollup: effects.' },
    { name: 'phase_commit_ms_sum', type: 'bigint', doc: 'Rollup: commit.' },
    { name: 'watermark_ms', type: 'bigint', doc: 'Rollup: watermark after the last batch of the minute.' },
    {
      name: 'watermark_gap_ms',
      type: 'bigint',
      doc: 'Rollup: processing time minus watermark at the end of that batch.',
    },
    { name: 'dead_letter_reasons', type: 'text', doc: 'Rollup: JSON {reason: count} of the dead letters.' },
    {
      name: 'latency_oldest_ms_max',
      type: 'bigint',
      doc: "Rollup: longest time from a live batch's oldest record (its Kafka timestamp) to the batch's end.",
    },
    {
      name: 'latency_newest_ms_max',
      type: 'bigint',
      doc: "Rollup: longest time from a live batch's newest record (its Kafka timestamp) to the batch's end.",
    },
    {
      name: 'live_duration_ms_sum',
      type: 'bigint',
      doc: "Rollup: summed durations of the live stream's batches, without a replay's or a redrive's: the time of records_in.",
    },
  ],
  partitionKey: ['job', 'resolution', 'bucket'],
  clustering: [{ name: 'at', order: 'ASC' }],
  defaultTtlSeconds: 2 * DAY,
};

/** The tables of the runtime, which every pipeline has whatever its jobs (the jobs declare their own). */
export const RUNTIME_TABLE_DEFS: readonly TableDef[] = [
  OFFSET_CHECKPOINTS,
  SKIPPED_RANGES,
  BATCH_LEDGER,
  DEAD_LETTERS,
  UI_METRICS,
];

/** The runtime's tables every job's handler writes (the UI's metrics are written by the UI alone). */
export const JOB_RUNTIME_TABLES: readonly TableDef[] = [
  OFFSET_CHECKPOINTS,
  SKIPPED_RANGES,
  BATCH_LEDGER,
  DEAD_LETTERS,
];

/** The keyspace of the tutorial. The config can rename it (e.g. one keyspace per stage). */
export const DEFAULT_KEYSPACE = 'test_time';

/** The regular (non-key) columns of a table, in definition order. */
export function regularColumns(table: TableDef): readonly ColumnDef[] {
  const keys = new Set([...table.partitionKey, ...table.clustering.map((c) => c.name)]);
  return table.columns.filter((c) => !keys.has(c.name));
}
