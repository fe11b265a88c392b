/**
 * An in-memory model of the two store interfaces with Cassandra's semantics: compare-and-set on the checkpoint
 * and on window partials, plain upserts for the other writes. It is for the property tests of the protocol (no
 * network); the integration tests run the same cases on real Cassandra.
 *
 * It also detects what Cassandra would hide: an upsert that changes a row already written (`conflicts`).
 * Cassandra would silently keep the last value; here it is a test failure, because it means a replay or a
 * concurrent invocation wrote something different from the first attempt.
 */
import { keyColumns, SENSOR_STATS, type TableDef } from '../../schema';
import { SinkError } from '../../lambda/runtime/errors';
import {
  partialId,
  type Checkpoint,
  type CheckpointStore,
  type CursorGuard,
  type LedgerEntry,
  type PartialKey,
  type PartialLane,
  type PartitionRef,
  type RejectedWrite,
  type SinkStore,
  type SinkWrite,
  type SkippedRange,
  type StoredPartial,
} from '../../lambda/runtime/store';

export interface StoredRow {
  readonly values: Readonly<Record<string, unknown>>;
}

const refKey = (ref: PartitionRef) => `${ref.job}|${ref.topic}|${ref.partition}`;

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'bigint' ? `${x}n` : x instanceof Date ? x.toISOString() : x,
  );
}

/** Yields to the event loop so that concurrent invocations interleave at every await, as they would on a network. */
export type Scheduler = () => Promise<void>;
export const immediate: Scheduler = () => new Promise((resolve) => setImmediate(resolve));

const guardHolds = (cursor: { nextOffset: bigint; claim: { id: string } | null }, expected: CursorGuard) =>
  cursor.nextOffset === expected.nextOffset && (cursor.claim?.id ?? null) === expected.claimId;

export class MemoryCheckpointStore implements CheckpointStore {
  readonly rows = new Map<string, Checkpoint>();
  /** Skipped ranges per partition, keyed by their first offset. */
  readonly skipped = new Map<string, Map<bigint, SkippedRange>>();
  casCalls = 0;
  constructor(private readonly yieldPoint: Scheduler = immediate) {}

  async read(ref: PartitionRef): Promise<Checkpoint | undefined> {
    await this.yieldPoint();
    const row = this.rows.get(refKey(ref));
    return row && { ...row };
  }

  async create(ref: PartitionRef, checkpoint: Checkpoint): Promise<boolean> {
    await this.yieldPoint();
    if (this.rows.has(refKey(ref))) return false;
    this.rows.set(refKey(ref), { ...checkpoint });
    return true;
  }

  async compareAndSet(ref: PartitionRef, expected: CursorGuard, next: Checkpoint): Promise<boolean> {
    await this.yieldPoint();
    this.casCalls++;
    const row = this.rows.get(refKey(ref));
    if (!row || !guardHolds(row, expected)) return false;
    this.rows.set(refKey(ref), { ...next });
    return true;
  }

  private ranges(ref: PartitionRef): Map<bigint, SkippedRange> {
    let m = this.skipped.get(refKey(ref));
    if (!m) this.skipped.set(refKey(ref), (m = new Map()));
    return m;
  }

  /** Every skipped range of every partition, in offset order per partition. */
  allSkipped(): SkippedRange[] {
    return [...this.skipped.values()].flatMap((m) =>
      [...m.values()].sort((a, b) => (a.fromOffset < b.fromOffset ? -1 : 1)),
    );
  }

  async listSkipped(ref: PartitionRef, before?: bigint): Promise<SkippedRange[]> {
    await this.yieldPoint();
    return [...this.ranges(ref).values()]
      .filter((r) => before === undefined || r.fromOffset < before)
      .sort((a, b) => (a.fromOffset < b.fromOffset ? -1 : 1))
      .map((r) => ({ ...r }));
  }

  async readSkipped(ref: PartitionRef, fromOffset: bigint): Promise<SkippedRange | undefined> {
    await this.yieldPoint();
    const r = this.ranges(ref).get(fromOffset);
    return r && { ...r };
  }

  async registerSkipped(ref: PartitionRef, range: SkippedRange): Promise<boolean> {
    await this.yieldPoint();
    const m = this.ranges(ref);
    if (m.has(range.fromOffset)) return false;
    m.set(range.fromOffset, { ...range });
    return true;
  }

  async updateSkipped(ref: PartitionRef, expected: CursorGuard, next: SkippedRange): Promise<boolean> {
    await this.yieldPoint();
    const m = this.ranges(ref);
    const row = m.get(next.fromOffset);
    if (!row || !guardHolds(row.cursor, expected)) return false;
    m.set(next.fromOffset, { ...next });
    return true;
  }
}

export class MemorySinkStore implements SinkStore {
  readonly tables = new Map<string, Map<string, StoredRow>>();
  readonly ledger: LedgerEntry[] = [];
  conflicts: string[] = [];
  writeCalls = 0;
  /** Makes the sink refuse, for good, any write the predicate picks. */
  rejectWhen: ((write: SinkWrite) => boolean) | undefined;
  constructor(private readonly yieldPoint: Scheduler = immediate) {}

  table(name: string): Map<string, StoredRow> {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new Map()));
    return t;
  }

  rows(table: TableDef): Array<Readonly<Record<string, unknown>>> {
    return [...this.table(table.name).values()].map((r) => r.values);
  }

  async write(writes: readonly SinkWrite[]): Promise<RejectedWrite[]> {
    const rejected: RejectedWrite[] = [];
    for (const write of writes) {
      await this.yieldPoint();
      this.writeCalls++;
      if (this.rejectWhen?.(write)) {
        rejected.push({
          write,
          error: new SinkError(`rejected by the test for offset ${write.offset}`, false),
        });
        continue;
      }
      const pk = keyColumns(write.table)
        .map((c) => stable(write.values[c]))
        .join('|');
      const t = this.table(write.table.name);
      const existing = t.get(pk);
      if (existing && stable(existing.values) !== stable(write.values)) {
        this.conflicts.push(
          `${write.table.name}[${pk}]: ${stable(existing.values)} -> ${stable(write.values)}`,
        );
      }
      t.set(pk, { values: { ...write.values } });
    }
    return rejected;
  }

  async readPartials(
    table: TableDef,
    windowSpec: string,
    lane: PartialLane,
    keys: readonly PartialKey[],
  ): Promise<Map<string, StoredPartial>> {
    await this.yieldPoint();
    const out = new Map<string, StoredPartial>();
    for (const key of keys) {
      const pk = [key.key, windowSpec, new Date(key.windowStart), lane.topic, lane.partition, lane.lane]
        .map(stable)
        .join('|');
      const row = this.table(table.name).get(pk);
      if (!row) continue;
      const v = row.values;
      out.set(partialId(key), {
        count: Number(v.reading_count as bigint),
        sum: v.value_sum as number,
        min: v.value_min as number,
        max: v.value_max as number,
        coveredOffset: v.covered_offset as bigint,
      });
    }
    return out;
  }

  partialCasCalls = 0;

  async compareAndSetPartial(
    table: TableDef,
    row: Readonly<Record<string, unknown>>,
    expectedCovered: bigint | null,
  ): Promise<boolean> {
    await this.yieldPoint();
    this.partialCasCalls++;
    const pk = keyColumns(table)
      .map((c) => stable(row[c]))
      .join('|');
    const t = this.table(table.name);
    const existing = t.get(pk);
    const covered = existing ? (existing.values.covered_offset as bigint) : null;
    if (covered !== expectedCovered) return false;
    t.set(pk, { values: { ...row } });
    return true;
  }

  async recordBatch(entry: LedgerEntry): Promise<void> {
    this.ledger.push(entry);
  }
}

/** Reads the merged result per (sensor, windowStart) across Kafka partitions, as the query function does. */
export function mergedWindows(
  sink: MemorySinkStore,
): Map<string, { count: number; sum: number; min: number; max: number }> {
  const out = new Map<string, { count: number; sum: number; min: number; max: number }>();
  for (const v of sink.rows(SENSOR_STATS)) {
    const id = `${v.sensor_id as string}|${(v.window_start as Date).getTime()}`;
    const cur = out.get(id);
    const p = {
      count: Number(v.reading_count as bigint),
      sum: v.value_sum as number,
      min: v.value_min as number,
      max: v.value_max as number,
    };
    out.set(
      id,
      cur
        ? {
            count: cur.count + p.count,
            sum: cur.sum + p.sum,
            min: Math.min(cur.min, p.min),
            max: Math.max(cur.max, p.max),
          }
        : p,
    );
  }
  return out;
}

/** A checkpoint store that passes every call to `inner` except those `overrides` replaces (fault injection). */
export function delegatingCheckpoints(
  inner: CheckpointStore,
  overrides: Partial<CheckpointStore> = {},
): CheckpointStore {
  return {
    read: (ref) => inner.read(ref),
    create: (ref, cp) => inner.create(ref, cp),
    compareAndSet: (ref, expected, next) => inner.compareAndSet(ref, expected, next),
    listSkipped: (ref, before) => inner.listSkipped(ref, before),
    readSkipped: (ref, from) => inner.readSkipped(ref, from),
    registerSkipped: (ref, range) => inner.registerSkipped(ref, range),
    updateSkipped: (ref, expected, next) => inner.updateSkipped(ref, expected, next),
    ...overrides,
  };
}

/** A sink that passes every call to `inner` except those `overrides` replaces (fault injection). */
export function delegatingSink(inner: SinkStore, overrides: Partial<SinkStore> = {}): SinkStore {
  return {
    write: (writes) => inner.write(writes),
    readPartials: (...args) => inner.readPartials(...args),
    compareAndSetPartial: (...args) => inner.compareAndSetPartial(...args),
    recordBatch: (entry) => inner.recordBatch(entry),
    ...overrides,
  };
}
