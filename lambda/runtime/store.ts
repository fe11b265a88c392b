/**
 * What the exactly-once protocol needs from storage, as two narrow interfaces. `cassandra-store.ts`
 * implements them on Cassandra and Keyspaces; the property tests run the same protocol on an in-memory model
 * with the same semantics (compare-and-set on the checkpoint and on window partials, plain upserts otherwise).
 */
import type { TableDef } from '../../schema';
import type { SinkError } from './errors';
import type { StatsPartial } from './windows';

export interface PartitionRef {
  readonly job: string;
  readonly topic: string;
  readonly partition: number;
}

/** A claim pins the processing time of the offsets [cursor.nextOffset, until). */
export interface Claim {
  readonly id: string;
  readonly until: bigint;
  readonly time: Date;
}

/**
 * Where an exactly-once run of offsets stands: the live checkpoint of a partition, or the redrive cursor of one
 * of its skipped ranges. Every change is a compare-and-set on `(nextOffset, claim.id)`.
 */
export interface Cursor {
  /** The next offset to read: last applied + 1. */
  readonly nextOffset: bigint;
  readonly watermarkMs: number | null;
  readonly claim: Claim | null;
  /** The window-partial lane of the offsets from `nextOffset` on (see `sensor_stats.lane` in the schema). */
  readonly lane: bigint;
}

/** The live checkpoint of one (job, topic, partition). */
export interface Checkpoint extends Cursor {
  /** The offset the checkpoint was created at: nothing below it was ever applied by the live job. */
  readonly firstOffset: bigint;
  /**
   * A skipped range registered by the move that set this checkpoint, not yet copied to `skipped_ranges`.
   * Registering the range and moving past it is one compare-and-set; whoever reads the checkpoint next copies
   * it (idempotently) and clears it before doing anything else.
   */
  readonly pendingSkip: SkippedRange | null;
}

/**
 * `applied`: not a skipped range but a note that a failed batch's partition committed before another partition
 * failed it, so that its on-failure record is not redriven (see `noteAppliedOfFailedBatch`).
 */
export type SkippedStatus = 'pending' | 'redriven' | 'lost' | 'applied';

/** A range of offsets the event source gave up on, or that the checkpoint found missing. */
export interface SkippedRange {
  readonly fromOffset: bigint;
  /** Exclusive. */
  readonly untilOffset: bigint;
  /** `gap` when the checkpoint found it; the on-failure condition (e.g. `RetryAttemptsExhausted`) otherwise. */
  readonly reason: string;
  readonly status: SkippedStatus;
  readonly detectedAt: Date;
  /** The batch, or the redrive, that registered it. */
  readonly detectedBy: string;
  /** A failed attempt had claimed part of the range: some of its effects may already be written. */
  readonly claimed: boolean;
  /** The on-failure record it came with (JSON), when known. */
  readonly onFailure: string | null;
  /** The range's own checkpoint: a redrive applies it by the same protocol as the live job. */
  readonly cursor: Cursor;
  /** Records whose effects a redrive committed. */
  readonly redriven: number;
  /** Offsets a redrive found gone from Kafka. */
  readonly lost: bigint;
  readonly redrivenAt: Date | null;
}

/** The compare-and-set guard of a cursor: the next offset and the open claim's id. */
export interface CursorGuard {
  readonly nextOffset: bigint;
  readonly claimId: string | null;
}

export const guardOf = (cursor: Cursor): CursorGuard => ({
  nextOffset: cursor.nextOffset,
  claimId: cursor.claim?.id ?? null,
});

export interface CheckpointStore {
  /** A linearizable read (SERIAL), so an in-flight compare-and-set is never missed. */
  read(ref: PartitionRef): Promise<Checkpoint | undefined>;
  /** Creates the checkpoint if there is none; false if one exists. */
  create(ref: PartitionRef, checkpoint: Checkpoint): Promise<boolean>;
  /**
   * Replaces the checkpoint only if its next offset and claim id are still the expected ones; false otherwise.
   * An outcome that cannot be known (a CAS timeout) also returns false: the caller re-reads and re-decides.
   */
  compareAndSet(ref: PartitionRef, expected: CursorGuard, next: Checkpoint): Promise<boolean>;
  /** The partition's skipped ranges that start below `before` (all when omitted), in offset order. */
  listSkipped(ref: PartitionRef, before?: bigint): Promise<SkippedRange[]>;
  /** The skipped range that starts at `fromOffset`, if any (linearizable, as `read`). */
  readSkipped(ref: PartitionRef, fromOffset: bigint): Promise<SkippedRange | undefined>;
  /** Inserts a skipped range unless one starts at the same offset; false if one does. */
  registerSkipped(ref: PartitionRef, range: SkippedRange): Promise<boolean>;
  /** Replaces a skipped range only if its cursor still has the expected guard (as `compareAndSet`). */
  updateSkipped(ref: PartitionRef, expected: CursorGuard, next: SkippedRange): Promise<boolean>;
}

export interface SinkWrite {
  readonly table: TableDef;
  readonly values: Readonly<Record<string, unknown>>;
  /** The record this write came from, to dead-letter it if the sink rejects the write. */
  readonly offset: bigint;
}

export interface RejectedWrite {
  readonly write: SinkWrite;
  readonly error: SinkError;
}

export interface PartialKey {
  readonly key: string;
  readonly windowStart: number;
}

/** Where a run of partials lives: one Kafka partition's lane (see `sensor_stats.lane`). */
export interface PartialLane {
  readonly topic: string;
  readonly partition: number;
  readonly lane: bigint;
}

export interface StoredPartial extends StatsPartial {
  readonly coveredOffset: bigint;
}

/** How a batch came: from the event source, a replay, or a redrive of skipped ranges. */
export type BatchMode = 'live' | 'replay' | 'redrive';

/** Where the time of a partition's run went; a batch reports the partition that finished last. */
export interface PhaseTimings {
  /** Reading the checkpoint, registering gaps, claiming. */
  readonly readClaimMs: number;
  /** Decoding and transforming the records. */
  readonly transformMs: number;
  /** Writing rows, partials and dead letters. */
  readonly effectsMs: number;
  /** Moving the checkpoint. */
  readonly commitMs: number;
}

/** One Kafka partition of a batch, as the ledger keeps it. */
export interface PartitionReport extends OffsetRange {
  /** The checkpoint's next offset before and after the batch (null: there was none). */
  readonly nextBefore: bigint | null;
  readonly nextAfter: bigint | null;
  /** The claim the batch applied under, and its pinned processing time. */
  readonly claimId: string | null;
  readonly claimTime: Date | null;
  /**
   * An open claim another attempt left (one that crashed, timed out or runs beside this one), under which this
   * batch applied offsets up to `until` with that attempt's processing time; null when it found none.
   */
  readonly resumedClaim: { readonly id: string; readonly time: Date; readonly until: bigint } | null;
  readonly applied: number;
  readonly written: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  readonly late: number;
  readonly deferred: number;
  readonly skipped: bigint;
  readonly filtered: bigint;
  readonly lost: bigint;
  readonly watermarkMs: number | null;
}

export interface LedgerEntry {
  readonly job: string;
  readonly batchId: string;
  readonly mode: BatchMode;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly recordsIn: number;
  readonly written: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  readonly late: number;
  /** Records left to the live job (a replay ahead of it) or to a later redrive. */
  readonly deferred: number;
  /** Offsets registered as skipped ranges: kept for a redrive, never written off. */
  readonly skipped: bigint;
  /** Offsets the event source's filters dropped. */
  readonly filtered: bigint;
  /** Offsets a redrive found gone from Kafka. */
  readonly lost: bigint;
  readonly offsetRanges: readonly OffsetRange[];
  readonly watermarkMs: number | null;
  /**
   * The Kafka timestamps (epoch ms) of the batch's oldest and newest record: with the batch's end, the latency
   * of its records, from the oldest's (its batching window included) to the newest's (about the processing
   * delay). null when no record carries a timestamp.
   */
  readonly recordTimestamps: RecordTimestamps | null;
  readonly phases: PhaseTimings;
  readonly partitions: readonly PartitionReport[];
}

export interface RecordTimestamps {
  readonly oldestMs: number;
  readonly newestMs: number;
}

/** Spark's OffsetRange: `untilOffset` is exclusive. */
export interface OffsetRange {
  readonly topic: string;
  readonly partition: number;
  readonly fromOffset: bigint;
  readonly untilOffset: bigint;
}

export interface SinkStore {
  /**
   * Applies every write. Resolves with the writes the sink rejected for good (they get dead-lettered); throws a
   * retriable `SinkError` when the sink is unavailable, so the batch is retried.
   */
  write(writes: readonly SinkWrite[]): Promise<RejectedWrite[]>;
  /** Reads the stored partials of one lane for the given keys, keyed by `partialId`. */
  readPartials(
    table: TableDef,
    windowSpec: string,
    lane: PartialLane,
    keys: readonly PartialKey[],
  ): Promise<Map<string, StoredPartial>>;
  /**
   * Writes a window partial only if the stored one still covers `expectedCovered` (`null`: only if none is
   * stored). Resolves false when another writer got there first, or when the outcome cannot be known: the
   * caller re-reads and refolds. Throws a non-retriable `SinkError` when the sink refuses the row for good.
   */
  compareAndSetPartial(
    table: TableDef,
    row: Readonly<Record<string, unknown>>,
    expectedCovered: bigint | null,
  ): Promise<boolean>;
  recordBatch(entry: LedgerEntry): Promise<void>;
}

export function partialId(key: PartialKey): string {
  return `${key.windowStart}|${key.key}`;
}
