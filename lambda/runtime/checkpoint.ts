/**
 * Exactly-once effects for one (job, topic, partition), on every path: the event source's batches, replays,
 * ranges the event source skipped, and their redrive.
 *
 * ## The invariant
 * For every (job, topic, partition), the sink reflects the effect of each offset exactly once, whatever
 * happens: redelivered or overlapping batches, a crash between two writes, restarts, two invocations that see
 * the same partition at the same time, a batch the event source gives up on, a replay, a redrive. An offset
 * whose effect is not (yet) in the sink is never silently dropped: it is ahead of the checkpoint, inside a
 * *skipped range* waiting for a redrive, counted as dropped by the event source's filters, or counted as lost
 * because Kafka no longer has it.
 *
 * ## The state
 * A *cursor* is `(next_offset, watermark, claim, lane)`: the next offset to apply, the partition's event-time
 * watermark at that offset, at most one open *claim* `(claim_id, claim_until, claim_time)` that pins the
 * processing time of `[next_offset, claim_until)`, and the *lane* its window partials fold into. The live
 * checkpoint row is a cursor (plus where it began, and a slot for a range it just skipped); each row of
 * `skipped_ranges` carries a cursor of its own for its redrive. Every change to a cursor is a compare-and-set
 * (LWT) on `(next_offset, claim_id)`; every read is linearizable (LOCAL_SERIAL on a plain Cassandra;
 * LOCAL_QUORUM on Keyspaces, whose reads see every acknowledged write, and in the Keyspaces-strict mode that
 * holds the local run to it: `checkpointReadConsistency`).
 *
 * ## Applying a run of records to a cursor (`advance`)
 * For records `R` (sorted, `end` = last offset + 1), loop:
 * 1. Read the cursor `C`. `C.next >= end`: every record is already applied; count them as duplicates, stop.
 * 2. `R` starts above `C.next`: a *gap*. What it means depends on the path (below).
 * 3. No open claim: CAS one in, `[C.next, end)` with `time = now`. An open claim is used as it is, whoever
 *    made it: its time is the one every attempt at those offsets must use.
 * 4. Compute the effects of the records in `[C.next, min(claim_until, end))`: a pure function of the records,
 *    the claim time and the cursor's watermark, so every attempt at the same offsets computes the same rows.
 * 5. Write them. Rows are plain upserts of identical values. A window partial is a compare-and-set on its
 *    `covered_offset` (the last offset folded into it) within the cursor's lane: read it, fold only the
 *    readings above that offset, write only if it still covers what was read. (No write timestamps: Keyspaces
 *    accepts client timestamps only near the current time.) Every write of a failed attempt is awaited before
 *    the failure is reported, so none outlives it.
 * 6. CAS the cursor from `(C.next, claim_id)` to `(stop, watermark)`, closing the claim when `stop` reaches
 *    it. If the CAS fails, someone else moved the cursor: go to 1.
 *
 * ## The live path (the event source's batches)
 * The cursor is the checkpoint; none yet: create it at `R`'s first offset (IF NOT EXISTS), lane = that offset.
 * A gap `[C.next, first)` means the event source never delivered those offsets to a batch that finished:
 * - It gave up on a batch (retries exhausted, record too old, sent to the on-failure destination), or Kafka's
 *   retention removed them. The handler cannot tell which, so it writes nothing off: with `failOnDataLoss` it
 *   fails (the event source retries; see the config for how that halts the partition), otherwise it
 *   *registers a skipped range* and moves on.
 * - The range is `[C.next, max(first, claim_until))`: an open claim means an attempt applied part of it under
 *   that claim's time and watermark, possibly past `first`, and only a redrive that starts where that attempt
 *   started can decide those offsets the same way. The range keeps the cursor as it was (claim, watermark,
 *   lane). The checkpoint moves to its end, with no claim, the same watermark, and a new lane.
 * - Registering and moving are one CAS: the new checkpoint carries the range in its `pending_skip` slot.
 *   Whoever reads the checkpoint next (this invocation first) copies it into `skipped_ranges` (INSERT IF NOT
 *   EXISTS of a value fixed by the slot) and clears the slot (a CAS on the same guard), before anything else.
 *   So a range is never half-registered, and never registered twice: `next` only grows, so no two moves start
 *   at the same offset.
 * - With event-source filters, the dropped records leave gaps too. A gap with no open claim is then counted
 *   as filtered and the checkpoint moves over it (no attempt ever claimed those offsets, so nothing of them
 *   was written). A batch that was given up *and* never claimed is then known only from its on-failure record,
 *   and `registerFromOnFailure` registers it behind the checkpoint, in a lane of its own. A checkpoint that
 *   committed is passed the same way, so a failing batch notes the partitions it committed
 *   (`noteAppliedOfFailedBatch`), and their on-failure ranges count as applied.
 *
 * ## The replay path (`replay`, `redrive`)
 * A replay never creates the checkpoint, never moves it, and applies nothing at or above it: those records
 * are deferred to the live job, which applies them in order when it gets there. Below the checkpoint, the
 * only offsets never applied are those of pending skipped ranges; a replay applies the records that fall in
 * them through each range's own cursor, and the rest are duplicates. `redrive` is a replay that reads exactly
 * the pending ranges back from Kafka: reading contiguously from the range's cursor, a gap there means Kafka
 * no longer has those offsets, and they are counted as lost on the range (status `lost` if none was left).
 *
 * ## Why it holds
 * - *Same batch twice, overlapping batches:* records below the cursor are skipped (step 1 and the filter in 4).
 * - *Crash after the effects, before the commit:* the claim is still open, so the retry recomputes the same
 *   rows with the same claim time and upserts them again: no visible change. Its partials find their
 *   readings already covered and fold nothing.
 * - *Crash in the middle of the effects, or after the claim and before any effect:* the same; the retry
 *   completes the half-written set, with the claim's time.
 * - *Two invocations at once:* only one claim can be CASed in over a given `next`; the other reads it and uses
 *   the same time, so both write the same rows. Only one commit CAS over `(C.next, claim_id)` can succeed; the
 *   loser re-reads and finds its records below `next`. Of two writers folding the same readings into a
 *   partial, the second finds them covered.
 * - *A batch given up after a partial attempt:* its offsets are in a skipped range whose cursor holds the
 *   attempt's claim (time) and the watermark before it, and whose lane is the one the attempt folded into.
 *   A redrive applies the range from its start: it writes the same rows as the attempt (same time), decides
 *   lateness the same way (same watermark, same records in the same order), and folds into the same lane, where
 *   the covered offsets tell which readings the attempt already folded. The live job never folds into that
 *   lane again, so the lane's offsets stay in order. Each offset is decided once: in the range, or live after
 *   it.
 * - *A range redriven twice, or two redrives at once:* the range's cursor is a cursor like any other; the
 *   second finds its records below `next` (or a closed range) and applies nothing.
 * - *A replay while the live job runs:* it moves no cursor but the skipped ranges', which the live job never
 *   touches; it applies nothing the live job will apply.
 * - *A replay before the live job ever ran:* no checkpoint; it defers everything. The live job later creates
 *   the checkpoint at its own first offset and applies all.
 * - *Late records:* lateness is decided by the running watermark over the offset sequence of a cursor, stored
 *   with it, so every attempt at the same offsets decides it the same way, whatever the batch boundaries.
 *
 * Keyspaces supports the lightweight transactions this needs.
 * https://docs.aws.amazon.com/keyspaces/latest/devguide/functional-differences.html#functional-differences.light-transactions
 */
import { ContentionError, DataLossError, RecordError, SinkError } from './errors';
import type { KafkaRecord, PartitionRecords } from './event';
import type { Job } from './job';
import { computeEffects, deadLetterWrite, writeEffects, type RefusedRecord } from './effects';
import { passesFilters } from './filters';
import type { FilterPattern } from '../../config/filters';
import {
  guardOf,
  type BatchMode,
  type Checkpoint,
  type CheckpointStore,
  type Cursor,
  type OffsetRange,
  type PartitionRef,
  type PartitionReport,
  type PhaseTimings,
  type SinkStore,
  type SkippedRange,
} from './store';

export { DEAD_LETTER_MAX_PAYLOAD_BYTES, deadLetterWrite } from './effects';

export interface PartitionDeps {
  readonly checkpoints: CheckpointStore;
  readonly sink: SinkStore;
  readonly clock: () => Date;
  readonly batchId: string;
  readonly warn: (message: string, fields: Record<string, unknown>) => void;
  /** @default - 50 attempts at a cursor before the batch fails with a retriable ContentionError. */
  readonly maxAttempts?: number;
  /**
   * `live`: the event source's own batch. `replay`: a re-run from any position, which applies only the
   * skipped ranges' records and defers the rest. `redrive`: a replay that read the skipped ranges back.
   * @default 'live'
   */
  readonly mode?: BatchMode;
  /**
   * The event source mapping has filter criteria: a gap with no open claim is records its filters dropped.
   * @default false
   */
  readonly filters?: boolean;
  /**
   * `redrive`: the reader delivered every record Kafka holds for this partition from this offset on, so an
   * offset missing above it is gone from Kafka.
   * @default - gaps in a skipped range are deferred, not counted as lost
   */
  readonly contiguousFrom?: bigint;
  /**
   * `redrive`: the partition's log start offset when the reader began. Only offsets below it are gone from Kafka;
   * an offset at or above it that the contiguous read passed without a record holds none the event source delivers
   * (a transaction's marker, an aborted transaction's records, a record compaction removed), so it is no loss.
   * @default - every gap in a contiguous read counts as lost
   */
  readonly logStart?: bigint;
  /**
   * `redrive`: the event source mapping's filter patterns. A redrive reads its ranges straight from Kafka, where
   * the records the event source dropped are still there: a record that matches none of these has no effect and
   * is counted as filtered, as it was live.
   * @default - every record is applied
   */
  readonly matchFilters?: readonly FilterPattern[];
  /**
   * Called on each commit this invocation makes to a cursor: the records it applied and the offsets it counted
   * as lost. A redrive adds these up for its report; what a skipped range's totals gained in the meantime may
   * be another redrive's, or a replay's.
   * @default - nothing
   */
  readonly onCommit?: (commit: CommitDelta) => void;
}

export interface PartitionOutcome extends PartitionReport {
  /** Records of this batch inside a range this invocation registered as skipped (they wait for a redrive). */
  readonly skippedRecords: number;
  readonly phases: PhaseTimings;
}

/** What happens on a gap: the cursor moved (`again`: read it again), or the run cannot go on (`stop`). */
type GapDecision = 'again' | 'stop';

/** Applied counts that a cursor's commit carries (a skipped range keeps its totals). */
export interface CommitDelta {
  readonly applied: number;
  readonly lost: bigint;
}

/** One cursor, as `advance` sees it: read it, and compare-and-set it. */
interface CursorOps {
  read(): Promise<Cursor>;
  cas(expected: Cursor, next: Cursor, delta: CommitDelta): Promise<boolean>;
}

const NO_DELTA: CommitDelta = { applied: 0, lost: 0n };

const cursorOf = (c: Cursor): Cursor => ({
  nextOffset: c.nextOffset,
  watermarkMs: c.watermarkMs,
  claim: c.claim,
  lane: c.lane,
});

/** The running totals of one partition's run, and where its time went. */
class Tally {
  applied = 0;
  written = 0;
  deadLettered = 0;
  late = 0;
  deferred = 0;
  skippedRecords = 0;
  /** Records of this run that match none of `matchFilters`: counted in `filtered`, so never as duplicates. */
  unmatched = 0;
  skipped = 0n;
  filtered = 0n;
  lost = 0n;
  watermarkMs: number | null = null;
  nextAfter: bigint | null = null;
  claimId: string | null = null;
  claimTime: Date | null = null;
  resumedClaim: { id: string; time: Date; until: bigint } | null = null;
  readonly phases = { readClaimMs: 0, transformMs: 0, effectsMs: 0, commitMs: 0 };
  private mark = performance.now();

  /** Adds the time since the last lap to `phase`. */
  lap(phase: keyof PhaseTimings): void {
    const now = performance.now();
    this.phases[phase] += now - this.mark;
    this.mark = now;
  }
}

export async function processPartition(
  job: Job,
  part: PartitionRecords,
  deps: PartitionDeps,
): Promise<PartitionOutcome> {
  const ref: PartitionRef = { job: job.name, topic: part.topic, partition: part.partition };
  const records = part.records;
  const t = new Tally();
  const before = await readCheckpoint(ref, deps);
  t.nextAfter = before?.nextOffset ?? null;
  t.watermarkMs = before?.watermarkMs ?? null;
  if ((deps.mode ?? 'live') === 'live') await live(job, part, ref, deps, t);
  else await replay(job, part, ref, before, deps, t);
  return {
    topic: part.topic,
    partition: part.partition,
    fromOffset: records[0]!.offset,
    untilOffset: records[records.length - 1]!.offset + 1n,
    nextBefore: before?.nextOffset ?? null,
    nextAfter: t.nextAfter,
    claimId: t.claimId,
    claimTime: t.claimTime,
    resumedClaim: t.resumedClaim,
    applied: t.applied,
    written: t.written,
    duplicates: records.length - t.applied - t.deferred - t.skippedRecords - t.unmatched,
    deadLettered: t.deadLettered,
    late: t.late,
    deferred: t.deferred,
    skipped: t.skipped,
    skippedRecords: t.skippedRecords,
    filtered: t.filtered,
    lost: t.lost,
    watermarkMs: t.watermarkMs,
    phases: {
      readClaimMs: Math.round(t.phases.readClaimMs),
      transformMs: Math.round(t.phases.transformMs),
      effectsMs: Math.round(t.phases.effectsMs),
      commitMs: Math.round(t.phases.commitMs),
    },
  };
}

/** Reads the checkpoint, first copying a skipped range its last move registered (see "The live path"). */
export async function readCheckpoint(
  ref: PartitionRef,
  deps: Pick<PartitionDeps, 'checkpoints'>,
): Promise<Checkpoint | undefined> {
  for (;;) {
    const checkpoint = await deps.checkpoints.read(ref);
    if (!checkpoint?.pendingSkip) return checkpoint;
    await flushPendingSkip(ref, checkpoint, deps);
  }
}

async function flushPendingSkip(
  ref: PartitionRef,
  checkpoint: Checkpoint,
  deps: Pick<PartitionDeps, 'checkpoints'>,
): Promise<void> {
  await deps.checkpoints.registerSkipped(ref, checkpoint.pendingSkip!);
  // Clearing is guarded like any move: if another invocation cleared it and moved on, this changes nothing.
  await deps.checkpoints.compareAndSet(ref, guardOf(checkpoint), { ...checkpoint, pendingSkip: null });
}

async function live(
  job: Job,
  part: PartitionRecords,
  ref: PartitionRef,
  deps: PartitionDeps,
  t: Tally,
): Promise<void> {
  const records = part.records;
  const first = records[0]!.offset;
  const end = records[records.length - 1]!.offset + 1n;
  let current!: Checkpoint;
  const cursor: CursorOps = {
    read: async () => {
      let checkpoint = await readCheckpoint(ref, deps);
      if (!checkpoint) {
        await deps.checkpoints.create(ref, {
          nextOffset: first,
          watermarkMs: null,
          claim: null,
          lane: first,
          firstOffset: first,
          pendingSkip: null,
        });
        checkpoint = await readCheckpoint(ref, deps);
      }
      return (current = checkpoint!);
    },
    cas: (expected, next) =>
      deps.checkpoints.compareAndSet(ref, guardOf(expected), {
        ...cursorOf(next),
        firstOffset: current.firstOffset,
        pendingSkip: null,
      }),
  };

  await advance(job, part, records, end, cursor, deps, t, async (_c, gapEnd) => {
    const c = current;
    const gap = gapEnd - c.nextOffset;
    if (!c.claim && deps.filters) {
      // No attempt ever claimed these offsets: the event source's filters dropped them (see "The live path").
      if (await deps.checkpoints.compareAndSet(ref, guardOf(c), { ...c, nextOffset: gapEnd }))
        t.filtered += gap;
      return 'again';
    }
    if (job.failOnDataLoss) throw new DataLossError(part.topic, part.partition, c.nextOffset, gapEnd);
    const until = c.claim && c.claim.until > gapEnd ? c.claim.until : gapEnd;
    const range: SkippedRange = {
      fromOffset: c.nextOffset,
      untilOffset: until,
      reason: 'gap',
      status: 'pending',
      detectedAt: deps.clock(),
      detectedBy: deps.batchId,
      claimed: c.claim !== null,
      onFailure: null,
      cursor: cursorOf(c),
      redriven: 0,
      lost: 0n,
      redrivenAt: null,
    };
    const moved: Checkpoint = {
      nextOffset: until,
      watermarkMs: c.watermarkMs,
      claim: null,
      lane: until,
      firstOffset: c.firstOffset,
      pendingSkip: range,
    };
    if (await deps.checkpoints.compareAndSet(ref, guardOf(c), moved)) {
      t.skipped += until - c.nextOffset;
      t.skippedRecords += records.filter((r) => r.offset < until).length;
      deps.warn('offsets the event source never delivered are kept as a skipped range for a redrive', {
        job: job.name,
        topic: part.topic,
        partition: part.partition,
        fromOffset: range.fromOffset.toString(),
        untilOffset: until.toString(),
        claimed: range.claimed,
        redrive: `microbatch redrive ${job.name}`,
      });
      await flushPendingSkip(ref, moved, deps);
    }
    return 'again';
  });
}

async function replay(
  job: Job,
  part: PartitionRecords,
  ref: PartitionRef,
  checkpoint: Checkpoint | undefined,
  deps: PartitionDeps,
  t: Tally,
): Promise<void> {
  const records = part.records;
  const fields = { job: job.name, topic: part.topic, partition: part.partition };
  if (!checkpoint) {
    // The live job has not started this partition: it will begin where its own batches begin and apply all.
    t.deferred = records.length;
    deps.warn('no checkpoint yet: leaving these records to the job’s own consumer', fields);
    return;
  }
  const below = records.filter((r) => r.offset < checkpoint.nextOffset);
  if (below.length < records.length) {
    t.deferred += records.length - below.length;
    deps.warn('a replay ahead of the checkpoint leaves those records to the job’s own consumer', {
      ...fields,
      checkpoint: checkpoint.nextOffset.toString(),
      deferred: records.length - below.length,
    });
  }
  if (!below.length) return;
  const ranges = (await deps.checkpoints.listSkipped(ref, below[below.length - 1]!.offset + 1n)).filter(
    (r) => r.status === 'pending' && r.untilOffset > below[0]!.offset,
  );
  for (const range of ranges) {
    const segment = below.filter((r) => r.offset >= range.fromOffset && r.offset < range.untilOffset);
    if (!segment.length) continue;
    const end = segment[segment.length - 1]!.offset + 1n;
    let current = range;
    const cursor: CursorOps = {
      read: async () => {
        // Ranges are never deleted, so the one listed above is still there.
        const found = (await deps.checkpoints.readSkipped(ref, range.fromOffset))!;
        current = found;
        // A range already closed has nothing left to apply.
        return found.status === 'pending' ? found.cursor : { ...found.cursor, nextOffset: found.untilOffset };
      },
      cas: (expected, next, delta) => {
        const redriven = current.redriven + delta.applied;
        const lost = current.lost + delta.lost;
        const done = next.nextOffset >= current.untilOffset;
        return deps.checkpoints.updateSkipped(ref, guardOf(expected), {
          ...current,
          cursor: next,
          redriven,
          lost,
          status: !done ? 'pending' : redriven === 0 && lost > 0n ? 'lost' : 'redriven',
          redrivenAt: done ? deps.clock() : null,
        });
      },
    };
    await advance(job, part, segment, end, cursor, deps, t, async (c, gapEnd) => {
      if (
        deps.mode === 'redrive' &&
        deps.contiguousFrom !== undefined &&
        deps.contiguousFrom <= c.nextOffset
      ) {
        // Read contiguously from before the gap: what of it lies below the log's start is gone from Kafka, and
        // the rest holds no record the event source delivers (`PartitionDeps.logStart`).
        const lost = lostBelowLogStart(c.nextOffset, gapEnd, deps.logStart);
        const claim = c.claim && c.claim.until > gapEnd ? c.claim : null;
        if (await cursor.cas(c, { ...c, nextOffset: gapEnd, claim }, { applied: 0, lost })) {
          t.lost += lost;
          deps.onCommit?.({ applied: 0, lost });
          if (lost > 0n)
            deps.warn('offsets of a skipped range are gone from Kafka (retention); counted as lost', {
              ...fields,
              fromOffset: c.nextOffset.toString(),
              untilOffset: (c.nextOffset + lost).toString(),
            });
        }
        return 'again';
      }
      // The start of the range was not in this run: it waits for a redrive that reads it.
      t.deferred += segment.length;
      return 'stop';
    });
  }
}

/** Of the offsets `[from, until)`, how many lie below `logStart` (all of them when it is not known). */
function lostBelowLogStart(from: bigint, until: bigint, logStart: bigint | undefined): bigint {
  if (logStart === undefined || logStart >= until) return until - from;
  return logStart > from ? logStart - from : 0n;
}

/**
 * `redrive`, after a contiguous read of a partition from `read.from` reached `read.upTo` and every record below it
 * was applied: moves each pending skipped range's cursor that is still below `upTo` over the offsets the read
 * passed without a record, closing the range when that reaches its end. Such offsets are what a record-by-record
 * apply never steps over: a transaction's markers (each takes an offset, and no batch ever holds it), aborted
 * records, records compaction removed, and what retention removed (counted as lost: below `read.logStart`).
 * Without this, a range that ends in them (every range a transactional producer's markers leave) stays pending
 * for ever. Returns the offsets counted as lost.
 */
export async function passRecordlessOffsets(
  job: Job,
  topic: string,
  partition: number,
  read: { readonly from: bigint; readonly upTo: bigint; readonly logStart: bigint },
  deps: Pick<PartitionDeps, 'checkpoints' | 'clock' | 'onCommit'>,
): Promise<bigint> {
  const ref: PartitionRef = { job: job.name, topic, partition };
  let lostTotal = 0n;
  for (const listed of await deps.checkpoints.listSkipped(ref, read.upTo)) {
    // A CAS lost to a concurrent redrive or replay: read the range again and see what is left.
    for (let range: SkippedRange | undefined = listed, attempt = 0; range && attempt < 5; attempt++) {
      const c = range.cursor;
      if (range.status !== 'pending' || c.nextOffset < read.from || c.nextOffset >= read.upTo) break;
      const end = read.upTo < range.untilOffset ? read.upTo : range.untilOffset;
      const lost = lostBelowLogStart(c.nextOffset, end, read.logStart);
      const done = end >= range.untilOffset;
      const next: SkippedRange = {
        ...range,
        cursor: { ...c, nextOffset: end, claim: c.claim && c.claim.until > end ? c.claim : null },
        lost: range.lost + lost,
        status: !done ? 'pending' : range.redriven === 0 && range.lost + lost > 0n ? 'lost' : 'redriven',
        redrivenAt: done ? deps.clock() : null,
      };
      if (await deps.checkpoints.updateSkipped(ref, guardOf(c), next)) {
        lostTotal += lost;
        deps.onCommit?.({ applied: 0, lost });
        break;
      }
      range = await deps.checkpoints.readSkipped(ref, listed.fromOffset);
    }
  }
  return lostTotal;
}

/** Applies `records` to a cursor (steps 1 to 6 of "Applying a run of records"). */
async function advance(
  job: Job,
  part: PartitionRecords,
  records: readonly KafkaRecord[],
  end: bigint,
  cursor: CursorOps,
  deps: PartitionDeps,
  t: Tally,
  onGap: (cursor: Cursor, firstOffset: bigint) => Promise<GapDecision>,
): Promise<void> {
  const maxAttempts = deps.maxAttempts ?? 50;
  const first = records[0]!.offset;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const c = await cursor.read();
    t.nextAfter = c.nextOffset;
    if (c.nextOffset >= end) {
      t.lap('readClaimMs');
      return;
    }
    if (first > c.nextOffset) {
      const decision = await onGap(c, first);
      t.lap('readClaimMs');
      if (decision === 'stop') return;
      continue;
    }
    let claim = c.claim;
    if (!claim) {
      claim = { id: deps.batchId, until: end, time: deps.clock() };
      if (!(await cursor.cas(c, { ...cursorOf(c), claim }, NO_DELTA))) {
        t.lap('readClaimMs');
        continue;
      }
    } else if (claim.id !== deps.batchId && !t.resumedClaim) {
      // Said in the report: part of this batch's rows carry another attempt's processing time.
      t.resumedClaim = { id: claim.id, time: claim.time, until: claim.until };
    }
    t.claimId = claim.id;
    t.claimTime = claim.time;
    t.lap('readClaimMs');

    const stop = claim.until < end ? claim.until : end;
    const pending = records.filter((r) => r.offset >= c.nextOffset && r.offset < stop);
    const filters = deps.matchFilters;
    const matching = filters?.length ? pending.filter((r) => passesFilters(filters, r)) : pending;
    const effects = computeEffects(job, matching, claim.time, c.watermarkMs);
    t.lap('transformMs');
    const lane = { topic: part.topic, partition: part.partition, lane: c.lane };
    const refused = await writeEffects(job, effects, lane, deps.sink);
    if (refused.size) await deadLetterRefused(job, matching, refused, deps.sink);
    t.lap('effectsMs');

    const next: Cursor = {
      nextOffset: stop,
      watermarkMs: effects.watermarkMs,
      claim: stop < claim.until ? claim : null,
      lane: c.lane,
    };
    const committed = await cursor.cas({ ...cursorOf(c), claim }, next, {
      applied: matching.length,
      lost: 0n,
    });
    t.lap('commitMs');
    if (committed) {
      t.applied += matching.length;
      deps.onCommit?.({ applied: matching.length, lost: 0n });
      t.unmatched += pending.length - matching.length;
      t.filtered += BigInt(pending.length - matching.length);
      // With the event source's filters, the offsets between a batch's records are records they dropped too:
      // counted, like a gap between batches, so that every offset is accounted for.
      if (deps.filters) t.filtered += stop - c.nextOffset - BigInt(pending.length);
      t.written += effects.written - refused.size;
      t.deadLettered += effects.deadLettered + refused.size;
      t.late += effects.late;
      t.watermarkMs = effects.watermarkMs;
      t.nextAfter = stop;
      if (stop >= end) return;
    }
  }
  throw new ContentionError(
    `Gave up on ${part.topic}-${part.partition} for job ${job.name} after ${maxAttempts} attempts at the checkpoint: ` +
      'other invocations kept moving it. The event source will retry the batch.',
  );
}

/**
 * Records whose effects the sink refused for good must not block the partition: they go to the dead letters.
 * A refused dead letter is different: there is nowhere left to put it, so the batch fails.
 */
async function deadLetterRefused(
  job: Job,
  pending: readonly KafkaRecord[],
  refused: ReadonlyMap<bigint, RefusedRecord>,
  sink: SinkStore,
): Promise<void> {
  const byOffset = new Map(pending.map((r) => [r.offset, r]));
  const letters = [...refused].map(([offset, { error, kept }]) =>
    deadLetterWrite(
      job.name,
      byOffset.get(offset)!,
      new RecordError(
        'sink-rejected',
        error.message +
          (kept.length
            ? `${/[.!?]$/.test(error.message) ? '' : '.'} The rest of the record's effect was written and stays: ${kept.join('; ')}. Neither replay nor ` +
              'redrive applies the record again: fix the refused part by hand.'
            : ''),
        { cause: error },
      ),
    ),
  );
  const failedAgain = await sink.write(letters);
  if (failedAgain.length) {
    throw new SinkError(`The dead-letter table refused a write: ${failedAgain[0]!.error.message}`, false, {
      cause: failedAgain[0]!.error,
    });
  }
}

/** Offsets of one partition that the event source reported giving up on (one entry of an on-failure record). */
export interface FailedRange {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  /** The on-failure condition, e.g. `RetryAttemptsExhausted` or `RecordAgeExceeded`. */
  readonly condition: string;
  /** The whole on-failure record, as JSON. */
  readonly record: string;
}

/**
 * What became of a failed range:
 * - `registered`: a skipped range now covers it (registered now, or earlier by a gap the live job found);
 * - `waiting`: the live checkpoint has not reached it yet; the live job registers it when it gets there (try
 *   again later);
 * - `applied`: the checkpoint passed it without a skipped range, which only an applied range can do (with filters,
 *   a filtered gap can too: there only a note of `noteAppliedOfFailedBatch` says it was applied).
 */
export type FailedRangeOutcome =
  | { readonly status: 'registered'; readonly range: SkippedRange }
  | { readonly status: 'waiting'; readonly checkpoint: bigint }
  | { readonly status: 'applied'; readonly checkpoint: bigint };

/**
 * Notes, for a batch that fails while some of its partitions committed, that those partitions' ranges were
 * applied. Only with event-source filters: there a checkpoint that passed an on-failure range may have moved
 * over it as a filtered gap, so `registerFromOnFailure` registers such a range unless a note says otherwise.
 * The event source delivers nothing more of a failing batch's partitions until it gives up, so every failing
 * attempt writes the same notes (INSERT IF NOT EXISTS), and the last one precedes the on-failure record. An
 * attempt that is killed at its timeout does not fail: `runMicroBatch` writes the notes a few seconds before
 * the deadline instead. Only an attempt killed otherwise (the process crashing) after a commit writes none:
 * its redrive would apply that partition again.
 */
export async function noteAppliedOfFailedBatch(
  job: Job,
  committed: readonly OffsetRange[],
  deps: Pick<PartitionDeps, 'checkpoints' | 'clock' | 'batchId'>,
): Promise<void> {
  await Promise.all(
    committed.map((p) =>
      deps.checkpoints.registerSkipped(
        { job: job.name, topic: p.topic, partition: p.partition },
        {
          fromOffset: p.fromOffset,
          untilOffset: p.untilOffset,
          reason: 'applied-before-failure',
          status: 'applied',
          detectedAt: deps.clock(),
          detectedBy: deps.batchId,
          claimed: false,
          onFailure: null,
          cursor: { nextOffset: p.untilOffset, watermarkMs: null, claim: null, lane: -1n - p.fromOffset },
          redriven: 0,
          lost: 0n,
          redrivenAt: null,
        },
      ),
    ),
  );
}

/**
 * Registers the range of an on-failure record as a skipped range, so that a redrive applies it. Most ranges are
 * registered already, by the live job's next batch (a gap); this covers the rest:
 * - the live job has not moved since: the checkpoint sits at the range's first offset, and the registration is
 *   the same CAS a gap would make (with the same rule for an open claim);
 * - the checkpoint is inside the range: an overlapping invocation (a rebalance, a batch cut another way) applied
 *   its start, and the attempt that failed claimed the rest. Only the rest, from the checkpoint on, is
 *   registered, by that same CAS: registering the whole range would apply its start twice;
 * - the checkpoint passed it without a trace, which happens only where no attempt claimed it: a batch given up
 *   before the checkpoint existed (below its first offset), or one taken for filtered records. Nothing of it
 *   was written, so it is registered behind the checkpoint in a lane of its own, `-1 - firstOffset` (live lanes
 *   are offsets, so never negative), with no watermark.
 */
export async function registerFromOnFailure(
  job: Job,
  failed: FailedRange,
  deps: Pick<PartitionDeps, 'checkpoints' | 'clock' | 'batchId' | 'filters' | 'maxAttempts'>,
): Promise<FailedRangeOutcome> {
  const ref: PartitionRef = { job: job.name, topic: failed.topic, partition: failed.partition };
  const first = failed.firstOffset;
  const end = failed.lastOffset + 1n;
  const base = {
    reason: failed.condition,
    status: 'pending' as const,
    detectedBy: deps.batchId,
    onFailure: failed.record,
    redriven: 0,
    lost: 0n,
    redrivenAt: null,
  };
  for (let attempt = 1; attempt <= (deps.maxAttempts ?? 50); attempt++) {
    // Any skipped range that overlaps this one: the live job may have registered the part past its checkpoint.
    const known = (await deps.checkpoints.listSkipped(ref, end)).find((r) => r.untilOffset > first);
    if (known?.status === 'applied' && known.fromOffset <= first && known.untilOffset >= end) {
      return { status: 'applied', checkpoint: known.untilOffset };
    }
    if (known) {
      if (known.onFailure === null) {
        await deps.checkpoints.updateSkipped(ref, guardOf(known.cursor), {
          ...known,
          onFailure: failed.record,
        });
      }
      return { status: 'registered', range: known };
    }
    const checkpoint = await readCheckpoint(ref, deps);
    if (!checkpoint) {
      await deps.checkpoints.create(ref, {
        nextOffset: first,
        watermarkMs: null,
        claim: null,
        lane: first,
        firstOffset: first,
        pendingSkip: null,
      });
      continue;
    }
    if (checkpoint.nextOffset < first) return { status: 'waiting', checkpoint: checkpoint.nextOffset };
    if (checkpoint.nextOffset < end) {
      const until = checkpoint.claim && checkpoint.claim.until > end ? checkpoint.claim.until : end;
      const range: SkippedRange = {
        ...base,
        fromOffset: checkpoint.nextOffset,
        untilOffset: until,
        detectedAt: deps.clock(),
        claimed: checkpoint.claim !== null,
        cursor: cursorOf(checkpoint),
      };
      const moved: Checkpoint = {
        nextOffset: until,
        watermarkMs: checkpoint.watermarkMs,
        claim: null,
        lane: until,
        firstOffset: checkpoint.firstOffset,
        pendingSkip: range,
      };
      if (await deps.checkpoints.compareAndSet(ref, guardOf(checkpoint), moved)) {
        await flushPendingSkip(ref, moved, deps);
      }
      continue;
    }
    if (!deps.filters && first >= checkpoint.firstOffset) {
      return { status: 'applied', checkpoint: checkpoint.nextOffset };
    }
    const until = deps.filters || end <= checkpoint.firstOffset ? end : checkpoint.firstOffset;
    const range: SkippedRange = {
      ...base,
      fromOffset: first,
      untilOffset: until,
      detectedAt: deps.clock(),
      claimed: false,
      cursor: { nextOffset: first, watermarkMs: null, claim: null, lane: -1n - first },
    };
    await deps.checkpoints.registerSkipped(ref, range);
  }
  throw new ContentionError(
    `Gave up registering ${failed.topic}-${failed.partition} [${first}, ${end}) for job ${job.name}: ` +
      'the checkpoint kept moving. Try the redrive again.',
  );
}
