/**
 * The exactly-once protocol on the in-memory model of Cassandra (CAS checkpoint, last-write-wins sink).
 * Every case of the invariant has its own test; the properties at the end throw random deliveries, crashes and
 * concurrency at it and compare the sink with a brute-force reference.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEAD_LETTER_MAX_PAYLOAD_BYTES,
  processPartition,
  type PartitionDeps,
} from '../../../lambda/runtime/checkpoint';
import { DataLossError } from '../../../lambda/runtime/errors';
import type { KafkaRecord, PartitionRecords } from '../../../lambda/runtime/event';
import type { Job } from '../../../lambda/runtime/job';
import type { CheckpointStore, SinkStore } from '../../../lambda/runtime/store';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { createSensorStatsJob } from '../../../lambda/jobs/sensor-stats';
import { formatTime } from '../../../lambda/jobs/time-format';
import { DEAD_LETTERS, SENT_RECEIVED } from '../../../schema';
import { MemoryCheckpointStore, MemorySinkStore, mergedWindows } from '../../support/memory-store';
import { referenceWindows, type Reading } from '../../support/reference';

const T0 = Date.UTC(2026, 4, 21, 2, 20, 0);

function sentRecord(offset: number, partition = 0): KafkaRecord {
  return {
    topic: 'test',
    partition,
    offset: BigInt(offset),
    timestamp: T0 + offset * 1000,
    timestampType: 'CREATE_TIME',
    key: null,
    value: Buffer.from(formatTime(new Date(T0 + offset * 1000), 'tutorial')),
    headers: [],
  };
}

function range(from: number, until: number, make = sentRecord): PartitionRecords {
  const records = [];
  for (let o = from; o < until; o++) records.push(make(o));
  return { topic: records[0]!.topic, partition: records[0]!.partition, records };
}

class Clock {
  private now = Date.UTC(2026, 4, 21, 3, 0, 0);
  tick = (): Date => new Date((this.now += 1000));
}

interface Harness {
  checkpoints: MemoryCheckpointStore;
  sink: MemorySinkStore;
  clock: Clock;
  run(
    job: Job,
    part: PartitionRecords,
    overrides?: Partial<PartitionDeps>,
  ): ReturnType<typeof processPartition>;
}

/** Yields a chosen number of times at each store call, so that concurrent invocations interleave differently. */
function jitter(delays: readonly number[]): () => Promise<void> {
  let i = 0;
  return async () => {
    const n = delays.length ? delays[i++ % delays.length]! : 1;
    for (let k = 0; k <= n; k++) await new Promise((resolve) => setImmediate(resolve));
  };
}

function harness(delays: readonly number[] = []): Harness {
  const yieldPoint = jitter(delays);
  const checkpoints = new MemoryCheckpointStore(yieldPoint);
  const sink = new MemorySinkStore(yieldPoint);
  const clock = new Clock();
  let n = 0;
  return {
    checkpoints,
    sink,
    clock,
    run: (job, part, overrides) =>
      processPartition(job, part, {
        checkpoints,
        sink,
        clock: clock.tick,
        batchId: `batch-${++n}`,
        warn: () => undefined,
        ...overrides,
      }),
  };
}

const tutorial = createSentReceivedJob({ timeFormat: 'tutorial', failOnDataLoss: false });

function sentRows(sink: MemorySinkStore): Map<string, string> {
  return new Map(sink.rows(SENT_RECEIVED).map((r) => [r.time_sent as string, r.time_received as string]));
}

/** A crash: the process dies at this point, so the call never returns. */
class Crash extends Error {}

function crashingCheckpoints(inner: CheckpointStore, crashOnCas: number): CheckpointStore {
  let cas = 0;
  return {
    read: (ref) => inner.read(ref),
    create: (ref, cp) => inner.create(ref, cp),
    compareAndSet: async (ref, expected, next) => {
      if (++cas === crashOnCas) throw new Crash(`crash before CAS #${cas}`);
      return inner.compareAndSet(ref, expected, next);
    },
  };
}

/** A sink that dies after `crashAfterWrites` row writes or partial compare-and-sets, whichever come first. */
function crashingSink(inner: MemorySinkStore, crashAfterWrites: number): SinkStore {
  let left = crashAfterWrites;
  return {
    readPartials: (...args) => inner.readPartials(...args),
    recordBatch: (entry) => inner.recordBatch(entry),
    write: async (writes) => {
      const now = writes.slice(0, left);
      left -= now.length;
      const rejected = await inner.write(now);
      if (now.length < writes.length) throw new Crash(`crash after ${crashAfterWrites} writes`);
      return rejected;
    },
    compareAndSetPartial: async (...args) => {
      if (left-- <= 0) throw new Crash(`crash after ${crashAfterWrites} writes`);
      return inner.compareAndSetPartial(...args);
    },
  };
}

describe('processPartition: the cases of the invariant', () => {
  it('applies a batch once and moves the checkpoint to the next offset', async () => {
    const h = harness();
    const outcome = await h.run(tutorial, range(0, 10));
    expect(outcome).toMatchObject({
      applied: 10,
      written: 10,
      duplicates: 0,
      fromOffset: 0n,
      untilOffset: 10n,
    });
    expect(sentRows(h.sink).size).toBe(10);
    const cp = [...h.checkpoints.rows.values()][0]!;
    expect(cp.nextOffset).toBe(10n);
    expect(cp.claim).toBeNull();
  });

  it('skips the same batch delivered twice and counts it as duplicates', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 10));
    const before = structuredClone([...h.sink.table(SENT_RECEIVED.name)]);
    const second = await h.run(tutorial, range(0, 10));
    expect(second).toMatchObject({ applied: 0, written: 0, duplicates: 10 });
    expect([...h.sink.table(SENT_RECEIVED.name)]).toEqual(before);
  });

  it('applies only the new part of an overlapping batch', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 10));
    const second = await h.run(tutorial, range(5, 15));
    expect(second).toMatchObject({ applied: 5, duplicates: 5 });
    expect(sentRows(h.sink).size).toBe(15);
    expect(h.sink.conflicts).toEqual([]);
  });

  it('after a crash between the effects and the checkpoint, the retry rewrites identical rows', async () => {
    const h = harness();
    // CAS #1 is the claim, CAS #2 the commit: crash just before the commit.
    await expect(
      h.run(tutorial, range(0, 10), { checkpoints: crashingCheckpoints(h.checkpoints, 2) }),
    ).rejects.toThrow(Crash);
    const afterCrash = new Map(sentRows(h.sink));
    expect(afterCrash.size).toBe(10);

    const retry = await h.run(tutorial, range(0, 10));

    expect(retry).toMatchObject({ applied: 10, duplicates: 0 });
    // The clock moved on, but the claim pinned the processing time: the rows did not change.
    expect(sentRows(h.sink)).toEqual(afterCrash);
    expect(h.sink.conflicts).toEqual([]);
    expect([...h.checkpoints.rows.values()][0]!.nextOffset).toBe(10n);
  });

  it('after a crash in the middle of the effects, the retry completes them with the same values', async () => {
    const h = harness();
    await expect(h.run(tutorial, range(0, 10), { sink: crashingSink(h.sink, 4) })).rejects.toThrow(Crash);
    expect(sentRows(h.sink).size).toBe(4);
    const partial = new Map(sentRows(h.sink));

    await h.run(tutorial, range(0, 10));

    const rows = sentRows(h.sink);
    expect(rows.size).toBe(10);
    for (const [sent, received] of partial) expect(rows.get(sent)).toBe(received);
    expect(new Set(rows.values()).size).toBe(1); // one batch, one processing time
    expect(h.sink.conflicts).toEqual([]);
  });

  it('two invocations on one partition at once apply each offset once', async () => {
    const h = harness();
    const [a, b] = await Promise.all([h.run(tutorial, range(0, 10)), h.run(tutorial, range(0, 10))]);
    expect(a.applied + b.applied).toBe(10);
    expect(a.duplicates + b.duplicates).toBe(10);
    expect(sentRows(h.sink).size).toBe(10);
    expect(new Set(sentRows(h.sink).values()).size).toBe(1);
    expect(h.sink.conflicts).toEqual([]);
  });

  it('a gap below the batch is logged as lost and skipped by default', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 5));
    const warnings: Array<Record<string, unknown>> = [];
    const outcome = await h.run(tutorial, range(8, 10), { warn: (_m, f) => warnings.push(f) });
    expect(outcome).toMatchObject({ lost: 3n, applied: 2 });
    expect(warnings).toEqual([expect.objectContaining({ expectedOffset: '5', firstOffset: '8', lost: '3' })]);
    expect([...h.checkpoints.rows.values()][0]!.nextOffset).toBe(10n);
  });

  it('a replay that starts ahead of the checkpoint applies nothing and writes nothing off', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 10));
    const replay = await h.run(tutorial, range(20, 30), { aheadOfCheckpoint: 'defer' });
    expect(replay).toMatchObject({ applied: 0, deferred: 10, duplicates: 0, lost: 0n });
    expect([...h.checkpoints.rows.values()][0]!.nextOffset).toBe(10n);
    // The job's own consumer, arriving later, applies everything from the checkpoint on.
    const own = await h.run(tutorial, range(10, 30));
    expect(own).toMatchObject({ applied: 20, duplicates: 0 });
    expect(sentRows(h.sink).size).toBe(30);
  });

  it('fails on a gap below the batch when failOnDataLoss is set', async () => {
    const h = harness();
    const strict = createSentReceivedJob({ timeFormat: 'tutorial', failOnDataLoss: true });
    await h.run(strict, range(0, 5));
    await expect(h.run(strict, range(8, 10))).rejects.toThrow(DataLossError);
    await expect(h.run(strict, range(8, 10))).rejects.toThrow(/expects offset 5 but the batch starts at 8/);
  });

  it('dead-letters a bad record and applies the rest of the batch', async () => {
    const h = harness();
    const part = range(0, 4);
    const records = [...part.records];
    records[1] = { ...records[1]!, value: Buffer.from('not a time') };
    records[2] = { ...records[2]!, value: null };
    const outcome = await h.run(tutorial, { ...part, records });
    expect(outcome).toMatchObject({ applied: 4, written: 2, deadLettered: 2 });
    const letters = h.sink.rows(DEAD_LETTERS);
    expect(letters.map((l) => [l.kafka_offset, l.reason])).toEqual([
      [1n, 'schema'],
      [2n, 'null-value'],
    ]);
    expect(letters[0]!.value_b64).toBe(Buffer.from('not a time').toString('base64'));
  });

  it('dead-letters an oversized record with a payload cut to fit a row, saying so', async () => {
    const h = harness();
    const part = range(0, 2);
    const big = Buffer.alloc(1_500_000, 0x41);
    const records = [part.records[0]!, { ...part.records[1]!, value: big }];
    await h.run(tutorial, { ...part, records });
    const [letter] = h.sink.rows(DEAD_LETTERS);
    expect(letter).toMatchObject({ kafka_offset: 1n, reason: 'oversized' });
    expect(Buffer.from(letter!.value_b64 as string, 'base64').length).toBe(DEAD_LETTER_MAX_PAYLOAD_BYTES);
    // Base64 of the kept part stays well inside Keyspaces' 1 MB row.
    expect((letter!.value_b64 as string).length).toBeLessThan(1_000_000);
    expect(letter!.detail).toMatch(
      /first 262144 of 1500000 bytes; the whole record is in Kafka at this offset/,
    );
  });

  it('dead-letters a record whose write the sink refuses for good, and goes on', async () => {
    const h = harness();
    h.sink.rejectWhen = (w) => w.table === SENT_RECEIVED && w.offset === 3n;
    const outcome = await h.run(tutorial, range(0, 5));
    expect(outcome).toMatchObject({ applied: 5, written: 4, deadLettered: 1 });
    expect(h.sink.rows(DEAD_LETTERS)).toEqual([
      expect.objectContaining({ kafka_offset: 3n, reason: 'sink-rejected' }),
    ]);
  });
});

/**
 * The harness's checkpoint store, which runs `action` once, right after the first claim lands: the moment the
 * interleaving tests need a concurrent invocation to start.
 */
function afterOurClaim(h: Harness, action: () => Promise<void>): CheckpointStore {
  let done = false;
  return {
    read: (ref) => h.checkpoints.read(ref),
    create: (ref, cp) => h.checkpoints.create(ref, cp),
    compareAndSet: async (ref, expected, next) => {
      const applied = await h.checkpoints.compareAndSet(ref, expected, next);
      if (applied && next.claim && !done) {
        done = true;
        await action();
      }
      return applied;
    },
  };
}

describe('processPartition: windows', () => {
  const job = createSensorStatsJob({
    windowSeconds: 10,
    slideSeconds: 10,
    allowedLatenessSeconds: 5,
    failOnDataLoss: false,
  });
  const reading = (offset: number, sensorId: string, tsSeconds: number, value: number): KafkaRecord => ({
    topic: 'sensor-readings',
    partition: 0,
    offset: BigInt(offset),
    timestamp: T0,
    timestampType: 'CREATE_TIME',
    key: null,
    value: Buffer.from(JSON.stringify({ sensorId, ts: T0 + tsSeconds * 1000, value })),
    headers: [],
  });

  const fourReadingsOfOneSensor = () => {
    const records = [
      reading(0, 's1', 1, 10),
      reading(1, 's1', 2, 20),
      reading(2, 's1', 3, 30),
      reading(3, 's1', 4, 40),
    ];
    return { records, part: { topic: 'sensor-readings', partition: 0, records } };
  };

  it('aggregates per sensor and window, and dead-letters a reading behind the watermark as late', async () => {
    const h = harness();
    const records = [
      reading(0, 's1', 1, 10),
      reading(1, 's1', 2, 20),
      reading(2, 's2', 3, 5),
      reading(3, 's1', 30, 1),
      reading(4, 's1', 4, 99),
    ];
    const outcome = await h.run(job, { topic: 'sensor-readings', partition: 0, records });
    expect(outcome).toMatchObject({ applied: 5, written: 4, late: 1, deadLettered: 1 });
    const windows = mergedWindows(h.sink);
    expect(windows.get(`s1|${T0}`)).toEqual({ count: 2, sum: 30, min: 10, max: 20 });
    expect(windows.get(`s2|${T0}`)).toEqual({ count: 1, sum: 5, min: 5, max: 5 });
    expect(h.sink.rows(DEAD_LETTERS)).toEqual([
      expect.objectContaining({ kafka_offset: 4n, reason: 'late' }),
    ]);
    expect(outcome.watermarkMs).toBe(T0 + 25_000);
  });

  it('a concurrent invocation over a shorter range that finishes inside our claim is never folded twice', async () => {
    const h = harness();
    const { records, part } = fourReadingsOfOneSensor();
    let twin: Promise<unknown> | undefined;
    // Right after our claim lands, a twin over the first two records runs to the end under that claim.
    const interleaving = afterOurClaim(h, async () => {
      twin = h.run(job, { ...part, records: records.slice(0, 2) });
      await twin;
    });

    const outcome = await h.run(job, part, { checkpoints: interleaving });

    expect(await twin).toMatchObject({ applied: 2 });
    expect(outcome).toMatchObject({ applied: 2, duplicates: 2 });
    expect(mergedWindows(h.sink).get(`s1|${T0}`)).toEqual({ count: 4, sum: 100, min: 10, max: 40 });
    expect(h.sink.conflicts).toEqual([]);
  });

  it('a stale partial from a slower concurrent invocation never overwrites a newer one', async () => {
    const h = harness();
    const { records, part } = fourReadingsOfOneSensor();
    let release!: () => void;
    const ours = new Promise<void>((resolve) => (release = resolve));
    // The twin reads "no partial" before we write ours, and writes only after we are done.
    const slowSink: SinkStore = {
      write: (w) => h.sink.write(w),
      readPartials: (...args) => h.sink.readPartials(...args),
      recordBatch: (e) => h.sink.recordBatch(e),
      compareAndSetPartial: async (...args) => {
        await ours;
        return h.sink.compareAndSetPartial(...args);
      },
    };
    let twin: Promise<unknown> | undefined;
    const startTwinAfterClaim = afterOurClaim(h, async () => {
      twin = h.run(job, { ...part, records: records.slice(0, 2) }, { sink: slowSink });
    });

    await h.run(job, part, { checkpoints: startTwinAfterClaim });
    release();
    await twin;

    expect(mergedWindows(h.sink).get(`s1|${T0}`)).toEqual({ count: 4, sum: 100, min: 10, max: 40 });
  });

  it('after a crash in the middle of the partial writes, the retry never folds a reading twice', async () => {
    const h = harness();
    const records = [reading(0, 's1', 1, 10), reading(1, 's2', 2, 20), reading(2, 's1', 3, 30)];
    const part = { topic: 'sensor-readings', partition: 0, records };
    // The first compare-and-set is s1's partial (both readings); the crash comes before s2's.
    await expect(h.run(job, part, { sink: crashingSink(h.sink, 1) })).rejects.toThrow(Crash);
    // A crash does not recall a request already sent: let it land.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(mergedWindows(h.sink).get(`s1|${T0}`)).toEqual({ count: 2, sum: 40, min: 10, max: 30 });

    await h.run(job, part);

    expect(mergedWindows(h.sink).get(`s1|${T0}`)).toEqual({ count: 2, sum: 40, min: 10, max: 30 });
    expect(mergedWindows(h.sink).get(`s2|${T0}`)).toEqual({ count: 1, sum: 20, min: 20, max: 20 });
    expect(h.sink.conflicts).toEqual([]);
  });
});

/** One delivery of offsets [from, from+length), which may crash at a chosen step or run alongside a twin. */
const deliveryArb = fc.record({
  from: fc.nat({ max: 30 }),
  length: fc.integer({ min: 1, max: 12 }),
  crash: fc.option(
    fc.oneof(
      fc.record({ kind: fc.constant('cas' as const), at: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('sink' as const), at: fc.nat({ max: 10 }) }),
    ),
    { nil: undefined },
  ),
  /** A twin runs at the same time over a prefix of its own length (0: no twin), as in a rebalance. */
  twinLength: fc.nat({ max: 12 }),
});
type Delivery = typeof deliveryArb extends fc.Arbitrary<infer D> ? D : never;

/**
 * Plays the deliveries as an event source would: each starts at or below the committed position (a redelivery
 * or an overlap, never a gap; gaps have their own tests), may crash, and may run at the same time as a twin.
 * Then a last delivery of everything, without faults. Returns the first offset, where the checkpoint began.
 */
async function play(
  h: Harness,
  job: Job,
  all: readonly KafkaRecord[],
  deliveries: readonly Delivery[],
): Promise<number> {
  const topic = all[0]!.topic;
  const firstOffset = Math.min(deliveries[0]!.from, all.length - 1);
  for (const d of deliveries) {
    const committed = Number([...h.checkpoints.rows.values()][0]?.nextOffset ?? BigInt(firstOffset));
    const from = Math.min(d.from, committed, all.length - 1);
    const part = { topic, partition: 0, records: all.slice(from, from + d.length) };
    const overrides: Partial<PartitionDeps> =
      d.crash?.kind === 'cas'
        ? { checkpoints: crashingCheckpoints(h.checkpoints, d.crash.at) }
        : d.crash?.kind === 'sink'
          ? { sink: crashingSink(h.sink, d.crash.at) }
          : {};
    const runs = [h.run(job, part, overrides)];
    if (d.twinLength > 0) runs.push(h.run(job, { ...part, records: part.records.slice(0, d.twinLength) }));
    await Promise.all(
      runs.map((p) =>
        p.catch((e: unknown) => {
          if (!(e instanceof Crash)) throw e;
        }),
      ),
    );
  }
  await h.run(job, { topic, partition: 0, records: [...all] });
  return firstOffset;
}

describe('processPartition: properties', () => {
  it('any mix of redeliveries, overlaps, crashes and concurrency applies each offset exactly once (windows)', async () => {
    const windowJob = createSensorStatsJob({
      windowSeconds: 5,
      slideSeconds: 5,
      allowedLatenessSeconds: 3,
      failOnDataLoss: false,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            sensor: fc.constantFrom('a', 'b', 'c'),
            ts: fc.integer({ min: 0, max: 40 }),
            value: fc.integer({ min: -50, max: 50 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.array(deliveryArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat({ max: 4 }), { maxLength: 16 }),
        async (readings, deliveries, delays) => {
          const all: KafkaRecord[] = readings.map((x, i) => ({
            topic: 'sensor-readings',
            partition: 0,
            offset: BigInt(i),
            timestamp: T0,
            timestampType: 'CREATE_TIME',
            key: null,
            value: Buffer.from(JSON.stringify({ sensorId: x.sensor, ts: T0 + x.ts * 1000, value: x.value })),
            headers: [],
          }));
          const h = harness(delays);
          const firstOffset = await play(h, windowJob, all, deliveries);
          expect([...h.checkpoints.rows.values()][0]).toMatchObject({
            nextOffset: BigInt(all.length),
            claim: null,
          });
          expect(h.sink.conflicts).toEqual([]);
          const applied = all.slice(firstOffset).map((r) => JSON.parse(r.value!.toString()) as Reading);
          expect(mergedWindows(h.sink)).toEqual(referenceWindows([applied], { sizeMs: 5000 }, 3000).windows);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('any mix of deliveries leaves one row per record, each written with one pinned processing time (tutorial)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.array(deliveryArb, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat({ max: 4 }), { maxLength: 16 }),
        async (count, deliveries, delays) => {
          const h = harness(delays);
          const firstOffset = await play(h, tutorial, range(0, count).records, deliveries);
          expect([...sentRows(h.sink).keys()].sort()).toEqual(
            range(firstOffset, count)
              .records.map((r) => r.value!.toString())
              .sort(),
          );
          expect(h.sink.conflicts).toEqual([]);
          expect([...h.checkpoints.rows.values()][0]).toMatchObject({
            nextOffset: BigInt(count),
            claim: null,
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});
