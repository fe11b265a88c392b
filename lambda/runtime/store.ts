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

/** A claim pins the processing time of the offsets [checkpoint.nextOffset, until). */
export interface Claim {
  readonly id: string;
  readonly until: bigint;
  readonly time: Date;
}

export interface Checkpoint {
  /** The next offset to read: last applied + 1. */
  readonly nextOffset: bigint;
  readonly watermarkMs: number | null;
  readonly claim: Claim | null;
}

export interface CheckpointStore {
  /** A linearizable read (SERIAL), so an in-flight compare-and-set is never missed. */
  read(ref: PartitionRef): Promise<Checkpoint | undefined>;
  /** Creates the checkpoint if there is none; false if one exists. */
  create(ref: PartitionRef, checkpoint: Checkpoint): Promise<boolean>;
  /**
   * Replaces the checkpoint only if its next offset and claim id are still the expected ones; false otherwise.
   * An outcome that cannot be known (a CAS timeout) also returns false: the caller re-reads and re-decides.
   */
  compareAndSet(
    ref: PartitionRef,
    expected: { readonly nextOffset: bigint; readonly claimId: string | null },
    next: Checkpoint,
  ): Promise<boolean>;
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

export interface StoredPartial extends StatsPartial {
  readonly coveredOffset: bigint;
}

export interface LedgerEntry {
  readonly job: string;
  readonly batchId: string;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly recordsIn: number;
  readonly written: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  readonly late: number;
  readonly offsetRanges: readonly OffsetRange[];
  readonly watermarkMs: number | null;
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
  /** Reads the stored partials of one Kafka partition for the given keys, keyed by `partialId`. */
  readPartials(
    table: TableDef,
    windowSpec: string,
    topic: string,
    partition: number,
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
