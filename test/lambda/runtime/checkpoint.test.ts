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
  registerFromOnFailure,
  type FailedRange,
  type PartitionDeps,
} from '../../../lambda/runtime/checkpoint';
import { DataLossError, SinkError } from '../../../lambda/runtime/errors';
import type { KafkaRecord, PartitionRecords } from '../../../lambda/runtime/event';
import type { Job } from '../../../lambda/runtime/job';
import type { CheckpointStore, SinkStore } from '../../../lambda/runtime/store';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { createSensorStatsJob } from '../../../lambda/jobs/sensor-stats';
import { formatTime } from '../../../lambda/jobs/shared/time-format';
import { DEAD_LETTERS, SENT_RECEIVED, type TableDef } from '../../../schema';
import { defineTransformJob } from '../../../lambda/runtime/job';
import { utf8 } from '../../../lambda/runtime/decoders';
import {
  delegatingCheckpoints,
  delegatingSink,
  MemoryCheckpointStore,
  MemorySinkStore,
  mergedWindows,
} from '../../support/memory-store';
import { referenceWindows, type Reading } from '../../support/reference';
import { passesFilters } from '../../../lambda/runtime/filters';

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
  return delegatingCheckpoints(inner, {
    compareAndSet: async (ref, expected, next) => {
      if (++cas === crashOnCas) throw new Crash(`crash before CAS #${cas}`);
      return inner.compareAndSet(ref, expected, next);
    },
  });
}

/** A sink that dies after `crashAfterWrites` row writes or partial compare-and-sets, whichever come first. */
function crashingSink(inner: MemorySinkStore, crashAfterWrites: number): SinkStore {
  let left = crashAfterWrites;
  return delegatingSink(inner, {
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
  });
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
    expect((await h.run(tutorial, range(0, 10))).resumedClaim).toBeNull();
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
    // The report says whose claim it finished, and with which time: the crashed attempt's.
    expect(retry.resumedClaim).toEqual({ id: 'batch-1', time: expect.any(Date), until: 10n });
    expect(retry.claimId).toBe('batch-1');
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

  it('a gap below the batch is kept as a skipped range, never written off', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 5));
    const warnings: Array<Record<string, unknown>> = [];
    const outcome = await h.run(tutorial, range(8, 10), { warn: (_m, f) => warnings.push(f) });
    expect(outcome).toMatchObject({ skipped: 3n, lost: 0n, applied: 2 });
    expect(warnings).toEqual([
      expect.objectContaining({ fromOffset: '5', untilOffset: '8', claimed: false }),
    ]);
    const cp = [...h.checkpoints.rows.values()][0]!;
    expect(cp).toMatchObject({ nextOffset: 10n, pendingSkip: null });
    expect(h.checkpoints.allSkipped()).toEqual([
      expect.objectContaining({ fromOffset: 5n, untilOffset: 8n, status: 'pending', reason: 'gap' }),
    ]);
  });

  it('a replay that starts ahead of the checkpoint applies nothing and writes nothing off', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 10));
    const replay = await h.run(tutorial, range(20, 30), { mode: 'replay' });
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
    expect(h.sink.rows(DEAD_LETTERS)[0]!['detail']).not.toMatch(/stays/);
  });

  it('GIVEN a record one of whose two rows the sink refuses THEN its dead letter says the other row stays written', async () => {
    // GIVEN a job writing each record to two tables, and the sink refusing the second row of offset 1
    const table = (name: string): TableDef => ({
      name,
      doc: 'test',
      columns: [{ name: 'k', type: 'text', doc: 'test' }],
      partitionKey: ['k'],
      clustering: [],
      defaultTtlSeconds: 0,
    });
    const [a, b] = [table('a'), table('b')];
    const twoTables = defineTransformJob({
      name: 'two-tables',
      topics: ['test'],
      decoder: utf8(),
      sinkTables: [a, b],
      transform: (value) => [
        { table: a, values: { k: value } },
        { table: b, values: { k: value } },
      ],
    });
    const h = harness();
    h.sink.rejectWhen = (w) => w.table === b && w.offset === 1n;

    // WHEN
    const outcome = await h.run(twoTables, range(0, 3));

    // THEN the record is dead-lettered, and the detail names the row of it that stays
    expect(outcome).toMatchObject({ applied: 3, deadLettered: 1 });
    expect(h.sink.rows(a)).toHaveLength(3);
    expect(h.sink.rows(b)).toHaveLength(2);
    expect(h.sink.rows(DEAD_LETTERS)).toEqual([
      expect.objectContaining({
        kafka_offset: 1n,
        reason: 'sink-rejected',
        detail: expect.stringMatching(
          /The rest of the record's effect was written and stays: a row of a\. Neither replay nor redrive/,
        ),
      }),
    ]);
  });
});

/**
 * The harness's checkpoint store, which runs `action` once, right after the first claim lands: the moment the
 * interleaving tests need a concurrent invocation to start.
 */
function afterOurClaim(h: Harness, action: () => Promise<void>): CheckpointStore {
  let done = false;
  return delegatingCheckpoints(h.checkpoints, {
    compareAndSet: async (ref, expected, next) => {
      const applied = await h.checkpoints.compareAndSet(ref, expected, next);
      if (applied && next.claim && !done) {
        done = true;
        await action();
      }
      return applied;
    },
  });
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

  it('dead-letters a record whose event time no Date holds (NaN, beyond 8.64e15), and goes on with the rest', async () => {
    // GIVEN a job whose event time can be NaN or out of range, and a reading whose ts is past a Date's range
    const h = harness();
    const broken = {
      ...job,
      eventTime: (v: { sensorId: string }) =>
        v.sensorId === 'nan' ? Number.NaN : v.sensorId === 'far' ? 9e15 : job.eventTime(v as never),
    } as typeof job;
    const farTs: KafkaRecord = {
      ...reading(4, 's1', 5, 1),
      value: Buffer.from(JSON.stringify({ sensorId: 's1', ts: 9_000_000_000_000_000, value: 1 })),
    };
    const records = [
      reading(0, 's1', 1, 10),
      reading(1, 'nan', 2, 20),
      reading(2, 'far', 3, 30),
      reading(3, 's1', 4, 5),
      farTs,
    ];

    // WHEN
    const outcome = await h.run(broken, { topic: 'sensor-readings', partition: 0, records });

    // THEN the batch commits; the three go to the dead letters with their reason, the two good ones are folded
    expect(outcome).toMatchObject({ applied: 5, written: 2, deadLettered: 3, late: 0 });
    expect(deadLetters(h.sink)).toEqual([
      [1n, 'schema'],
      [2n, 'schema'],
      [4n, 'schema'],
    ]);
    expect(mergedWindows(h.sink).get(`s1|${T0}`)).toEqual({ count: 2, sum: 15, min: 5, max: 10 });
  });

  it("GIVEN a sliding window's partial refused for good THEN the reading's dead letter names the window that kept it", async () => {
    // GIVEN windows of 10 s every 5 s: the reading at T0 + 7 s is in the windows from T0 and T0 + 5 s, and the
    // sink refuses the partial from T0 + 5 s
    const h = harness();
    const sliding = createSensorStatsJob({
      windowSeconds: 10,
      slideSeconds: 5,
      allowedLatenessSeconds: 5,
      failOnDataLoss: false,
    });
    const sink = delegatingSink(h.sink, {
      compareAndSetPartial: async (table, row, expected) => {
        if ((row['window_start'] as Date).getTime() === T0 + 5000)
          throw new SinkError('refused for good', false);
        return h.sink.compareAndSetPartial(table, row, expected);
      },
    });

    // WHEN
    const outcome = await h.run(
      sliding,
      { topic: 'sensor-readings', partition: 0, records: [reading(0, 's1', 7, 10)] },
      { sink },
    );

    // THEN
    expect(outcome).toMatchObject({ applied: 1, deadLettered: 1 });
    expect(mergedWindows(h.sink).get(`s1|${T0}`)).toEqual({ count: 1, sum: 10, min: 10, max: 10 });
    expect(h.sink.rows(DEAD_LETTERS)[0]!['detail']).toBe(
      "refused for good. The rest of the record's effect was written and stays: its reading in the window of s1 " +
        `from ${new Date(T0).toISOString()}. Neither replay nor redrive applies the record again: fix the refused part by hand.`,
    );
  });

  it('dead-letters an event time at the edge of a Date whose watermark or window would fall past it', async () => {
    // GIVEN event times a Date holds, but whose watermark (5 s earlier) or window end (10 s later) it does not,
    // an ISO time at the edge, and a record whose Kafka timestamp a producer set past a Date's range
    const h = harness();
    const edge = {
      ...job,
      eventTime: (v: { sensorId: string }) =>
        v.sensorId === 'min' ? -8.64e15 : v.sensorId === 'max' ? 8.64e15 : job.eventTime(v as never),
    } as typeof job;
    const isoEdge: KafkaRecord = {
      ...reading(2, 's1', 0, 1),
      value: Buffer.from(JSON.stringify({ sensorId: 's1', ts: '-271821-04-20T00:00:00.000Z', value: 1 })),
    };
    const farKafkaTime: KafkaRecord = { ...reading(4, 'nan', 0, 1), timestamp: 9e15 };
    const records = [
      reading(0, 'min', 1, 10),
      reading(1, 'max', 2, 20),
      isoEdge,
      reading(3, 's1', 4, 5),
      { ...farKafkaTime, value: Buffer.from('not json') },
    ];

    // WHEN
    const outcome = await h.run(edge, { topic: 'sensor-readings', partition: 0, records });

    // THEN each goes to the dead letters, the batch commits, and its watermark is a time a Date holds
    expect(outcome).toMatchObject({ applied: 5, written: 1, deadLettered: 4 });
    expect(deadLetters(h.sink)).toEqual([
      [0n, 'schema'],
      [1n, 'schema'],
      [2n, 'schema'],
      [4n, 'invalid-json'],
    ]);
    expect(h.sink.rows(DEAD_LETTERS)[0]!['detail']).toMatch(
      /less the job's window size and allowed lateness/,
    );
    expect(h.sink.rows(DEAD_LETTERS)[3]!['record_timestamp']).toBeNull();
    expect(new Date(outcome.watermarkMs!).toISOString()).toBe(new Date(T0 + 4000 - 5000).toISOString());
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

/** The rows of `sent_received` as `time_sent -> time_received`, and every dead letter's offset and reason. */
function deadLetters(sink: MemorySinkStore): Array<[bigint, string]> {
  return sink.rows(DEAD_LETTERS).map((l) => [l.kafka_offset as bigint, l.reason as string]);
}

describe('issue 8: replays, skipped ranges and redrive', () => {
  it('1. a replay before the live job ever ran creates no checkpoint, and the live job then applies every record', async () => {
    const h = harness();
    // The replay starts in the middle of the partition, where the live job has no checkpoint yet.
    const replay = await h.run(tutorial, range(50, 100), { mode: 'replay' });
    expect(replay).toMatchObject({ applied: 0, deferred: 50, duplicates: 0 });
    expect(h.checkpoints.rows.size).toBe(0);

    const live = await h.run(tutorial, range(0, 100));

    expect(live).toMatchObject({ applied: 100, duplicates: 0, skipped: 0n });
    expect(sentRows(h.sink).size).toBe(100);
  });

  it('1. a replay never moves the live checkpoint, even where it overlaps it', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 10));
    const replay = await h.run(tutorial, range(5, 20), { mode: 'replay' });
    expect(replay).toMatchObject({ applied: 0, duplicates: 5, deferred: 10 });
    expect([...h.checkpoints.rows.values()][0]!.nextOffset).toBe(10n);
    expect(await h.run(tutorial, range(10, 20))).toMatchObject({ applied: 10 });
  });

  it('2. a batch given up after a partial attempt becomes a skipped range, and a redrive applies it once', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 5));
    // The attempt on [5, 10) claims, writes 5..7 and fails; the event source gives up on it.
    await expect(h.run(tutorial, range(5, 10), { sink: crashingSink(h.sink, 3) })).rejects.toThrow(Crash);
    const written = new Map(sentRows(h.sink));
    expect(written.size).toBe(8);

    const next = await h.run(tutorial, range(10, 12));

    expect(next).toMatchObject({ applied: 2, skipped: 5n, lost: 0n });
    expect(h.checkpoints.allSkipped()).toEqual([
      expect.objectContaining({ fromOffset: 5n, untilOffset: 10n, claimed: true, status: 'pending' }),
    ]);
    // The replay of a range the checkpoint has passed applied nothing before; now it applies the range.
    const redrive = await h.run(tutorial, range(5, 10), { mode: 'redrive', contiguousFrom: 5n });
    expect(redrive).toMatchObject({ applied: 5, duplicates: 0, lost: 0n });
    const rows = sentRows(h.sink);
    expect(rows.size).toBe(12);
    // What the failed attempt wrote is not changed, and 8..9 got the same pinned time as 5..7.
    for (const [sent, received] of written) expect(rows.get(sent)).toBe(received);
    const times = new Set(range(5, 10).records.map((r) => rows.get(r.value!.toString())));
    expect(times.size).toBe(1);
    expect(h.sink.conflicts).toEqual([]);
    expect(h.checkpoints.allSkipped()).toEqual([
      expect.objectContaining({ fromOffset: 5n, status: 'redriven', redriven: 5 }),
    ]);

    // A range already redriven is a no-op, and so is a replay of everything.
    expect(await h.run(tutorial, range(5, 10), { mode: 'redrive', contiguousFrom: 5n })).toMatchObject({
      applied: 0,
      duplicates: 5,
    });
    expect(await h.run(tutorial, range(0, 12), { mode: 'replay' })).toMatchObject({
      applied: 0,
      duplicates: 12,
    });
    expect(sentRows(h.sink).size).toBe(12);
  });

  it('2. a redrive leaves out what the event source filters dropped: counted as filtered, with no effect', async () => {
    // GIVEN filters that drop offsets 6 and 8, and a batch of what they let through that was given up
    const h = harness();
    const filters = [{ value: [{ 'anything-but': ['2026-05-21 02:20:06', '2026-05-21 02:20:08'] }] }];
    const delivered = (from: number, until: number) => {
      const part = range(from, until);
      return { ...part, records: part.records.filter((r) => passesFilters(filters, r)) };
    };
    await h.run(tutorial, delivered(0, 5), { filters: true });
    await expect(
      h.run(tutorial, delivered(5, 10), { filters: true, sink: crashingSink(h.sink, 1) }),
    ).rejects.toThrow(Crash);
    await h.run(tutorial, delivered(10, 12), { filters: true });
    expect(h.checkpoints.allSkipped()).toEqual([
      expect.objectContaining({ fromOffset: 5n, untilOffset: 10n, status: 'pending' }),
    ]);

    // WHEN the redrive reads [5, 10) from Kafka, where 6 and 8 still are
    const redrive = await h.run(tutorial, range(5, 10), {
      mode: 'redrive',
      contiguousFrom: 5n,
      filters: true,
      matchFilters: filters,
    });

    // THEN it applies 5, 7 and 9 only, as the live job would have, and counts 6 and 8 once: as filtered, not also
    // as duplicates
    expect(redrive).toMatchObject({ applied: 3, filtered: 2n, duplicates: 0, lost: 0n });
    const rows = sentRows(h.sink);
    expect([...rows.keys()].filter((k) => k.endsWith(':06') || k.endsWith(':08'))).toEqual([]);
    expect(rows.size).toBe(10);
    expect(h.checkpoints.allSkipped()).toEqual([
      expect.objectContaining({ fromOffset: 5n, status: 'redriven', redriven: 3 }),
    ]);
  });

  it('2. a redrive that finds the start of a range gone from Kafka counts it as lost on the range', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 5));
    await h.run(tutorial, range(10, 12));
    // Retention removed 5..7: the reader, starting at 5, gets 8 first.
    const redrive = await h.run(tutorial, range(8, 10), { mode: 'redrive', contiguousFrom: 5n });
    expect(redrive).toMatchObject({ applied: 2, lost: 3n });
    expect(h.checkpoints.allSkipped()).toEqual([
      expect.objectContaining({ fromOffset: 5n, status: 'redriven', redriven: 2, lost: 3n }),
    ]);
  });

  it('2. a replay that misses the start of a range defers it instead of counting it lost', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 5));
    await h.run(tutorial, range(10, 12));
    const replay = await h.run(tutorial, range(8, 12), { mode: 'replay' });
    expect(replay).toMatchObject({ applied: 0, deferred: 2, lost: 0n, duplicates: 2 });
    expect(h.checkpoints.allSkipped()[0]).toMatchObject({ status: 'pending', lost: 0n });
  });

  it('3. with failOnDataLoss a gap halts the partition: every retry fails, nothing moves, nothing is skipped', async () => {
    const h = harness();
    const strict = createSentReceivedJob({ timeFormat: 'tutorial', failOnDataLoss: true });
    await h.run(strict, range(0, 5));
    for (let retry = 0; retry < 3; retry++) {
      await expect(h.run(strict, range(8, 10))).rejects.toThrow(DataLossError);
    }
    await expect(h.run(strict, range(8, 10))).rejects.toThrow(/expects offset 5 but the batch starts at 8/);
    // Later batches fail the same way: the partition does not drain past the gap.
    await expect(h.run(strict, range(10, 20))).rejects.toThrow(DataLossError);
    expect([...h.checkpoints.rows.values()][0]!.nextOffset).toBe(5n);
    expect(h.checkpoints.allSkipped()).toEqual([]);
  });

  it('4. after a gap inside an open claim, lateness is decided by the watermark the first attempt used', async () => {
    const job = createSensorStatsJob({
      windowSeconds: 60,
      slideSeconds: 60,
      allowedLatenessSeconds: 5,
      failOnDataLoss: false,
    });
    const at = (offset: number, tsSeconds: number, value: number): KafkaRecord => ({
      topic: 'sensor-readings',
      partition: 0,
      offset: BigInt(offset),
      timestamp: T0,
      timestampType: 'CREATE_TIME',
      key: null,
      value: Buffer.from(JSON.stringify({ sensorId: 's', ts: T0 + tsSeconds * 1000, value })),
      headers: [],
    });
    // 0..4 move the watermark to 5 s; 5..9 to 45 s; 10 (at 20 s) is late only after 5..9.
    const records = [
      ...[0, 1, 2, 3, 4].map((o) => at(o, 10, 1)),
      ...[5, 6, 7, 8, 9].map((o) => at(o, 50, 1)),
      at(10, 20, 100),
      at(11, 51, 1),
    ];
    const part = (from: number, until: number) => ({
      topic: 'sensor-readings',
      partition: 0,
      records: records.slice(from, until),
    });
    const h = harness();
    await h.run(job, part(0, 5));
    // The attempt on [5, 12) dead-letters 10 as late, folds the rest, and dies before its commit.
    await expect(
      h.run(job, part(5, 12), { checkpoints: crashingCheckpoints(h.checkpoints, 2) }),
    ).rejects.toThrow(Crash);
    expect(deadLetters(h.sink)).toEqual([[10n, 'late']]);

    // The event source, bisecting, gives up on [5, 10) and then delivers [10, 12).
    const next = await h.run(job, part(10, 12));
    expect(next).toMatchObject({ applied: 0, skipped: 7n, skippedRecords: 2 });
    await h.run(job, part(5, 12), { mode: 'redrive', contiguousFrom: 5n });

    // 10 is dead-lettered once and never folded: the window holds the other eleven readings.
    expect(deadLetters(h.sink)).toEqual([[10n, 'late']]);
    const total = [...mergedWindows(h.sink).values()].reduce((n, w) => n + w.count, 0);
    expect(total).toBe(11);
    expect(mergedWindows(h.sink).get(`s|${T0}`)).toEqual({ count: 11, sum: 11, min: 1, max: 1 });
    expect(h.sink.conflicts).toEqual([]);
  });

  it('5. a failed batch leaves no write running once it has failed', async () => {
    const job = createSensorStatsJob({
      windowSeconds: 10,
      slideSeconds: 10,
      allowedLatenessSeconds: 60,
      failOnDataLoss: false,
    });
    const records = ['a', 'b', 'c', 'd'].map((sensorId, i): KafkaRecord => ({
      topic: 'sensor-readings',
      partition: 0,
      offset: BigInt(i),
      timestamp: T0,
      timestampType: 'CREATE_TIME',
      key: null,
      value: Buffer.from(JSON.stringify({ sensorId, ts: T0 + 1000, value: 1 })),
      headers: [],
    }));
    const h = harness();
    let failedAt: number | undefined;
    const landedAfterFailure: string[] = [];
    // Partial 'a' fails at once; the others land later, as writes in flight would.
    const sink = delegatingSink(h.sink, {
      compareAndSetPartial: async (table, row, expected) => {
        if (row.sensor_id === 'a') throw new SinkError('throttled', true);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const applied = await h.sink.compareAndSetPartial(table, row, expected);
        if (failedAt !== undefined) landedAfterFailure.push(row.sensor_id as string);
        return applied;
      },
    });
    await expect(
      h.run(job, { topic: 'sensor-readings', partition: 0, records }, { sink }).finally(() => {
        failedAt = Date.now();
      }),
    ).rejects.toThrow(/throttled/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(landedAfterFailure).toEqual([]);
  });
});

describe('event-source filters', () => {
  it('a gap no attempt claimed is counted as filtered, not skipped', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 5), { filters: true });
    const outcome = await h.run(tutorial, range(9, 12), { filters: true });
    expect(outcome).toMatchObject({ applied: 3, filtered: 4n, skipped: 0n, lost: 0n });
    expect(h.checkpoints.allSkipped()).toEqual([]);
    expect([...h.checkpoints.rows.values()][0]!.nextOffset).toBe(12n);
  });

  it("counts the offsets between a batch's records as filtered too, so that the batches' offsets add up", async () => {
    // GIVEN batches of the records the filters kept: 0, 1, 4 and 7; then 9 and 12
    const h = harness();
    const kept = (offsets: number[]) => ({ ...range(0, 1), records: offsets.map((o) => sentRecord(o)) });

    // WHEN
    const first = await h.run(tutorial, kept([0, 1, 4, 7]), { filters: true });
    const second = await h.run(tutorial, kept([9, 12]), { filters: true });

    // THEN 2, 3, 5 and 6 inside the first; 8 before the second and 10, 11 inside it
    expect(first).toMatchObject({ applied: 4, filtered: 4n });
    expect(second).toMatchObject({ applied: 2, filtered: 3n });
    expect(first.applied + second.applied + Number(first.filtered + second.filtered)).toBe(13);
    // Without filters, a hole inside a batch (compaction, a transaction marker) is not the filters' doing.
    const plain = harness();
    expect(await plain.run(tutorial, kept([0, 1, 4, 7]))).toMatchObject({ applied: 4, filtered: 0n });
  });

  it('a gap under an open claim is a batch the event source gave up on, filters or not', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 5), { filters: true });
    await expect(
      h.run(tutorial, range(5, 8), { filters: true, sink: crashingSink(h.sink, 1) }),
    ).rejects.toThrow(Crash);
    const outcome = await h.run(tutorial, range(9, 12), { filters: true });
    expect(outcome).toMatchObject({ skipped: 4n, filtered: 0n });
    expect(h.checkpoints.allSkipped()).toEqual([
      expect.objectContaining({ fromOffset: 5n, untilOffset: 9n, claimed: true }),
    ]);
  });
});

describe('registerFromOnFailure', () => {
  const failed = (first: number, last: number): FailedRange => ({
    topic: 'test',
    partition: 0,
    firstOffset: BigInt(first),
    lastOffset: BigInt(last),
    condition: 'RetryAttemptsExhausted',
    record: '{"requestContext":{"condition":"RetryAttemptsExhausted"}}',
  });
  const deps = (h: Harness, filters = false) => ({
    checkpoints: h.checkpoints,
    clock: h.clock.tick,
    batchId: 'redrive-1',
    filters,
  });

  it('attaches the on-failure record to the range the live job registered', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 5));
    await h.run(tutorial, range(10, 12));
    const outcome = await registerFromOnFailure(tutorial, failed(5, 9), deps(h));
    expect(outcome).toMatchObject({ status: 'registered', range: { fromOffset: 5n, untilOffset: 10n } });
    expect(h.checkpoints.allSkipped()[0]!.onFailure).toMatch(/RetryAttemptsExhausted/);
  });

  it('registers the range where the live job stopped, as its next batch would', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 5));
    const outcome = await registerFromOnFailure(tutorial, failed(5, 9), deps(h));
    expect(outcome).toMatchObject({
      status: 'registered',
      range: { fromOffset: 5n, untilOffset: 10n, reason: 'RetryAttemptsExhausted' },
    });
    expect([...h.checkpoints.rows.values()][0]).toMatchObject({ nextOffset: 10n, pendingSkip: null });
    // The live job's next batch finds no gap.
    expect(await h.run(tutorial, range(10, 12))).toMatchObject({ applied: 2, skipped: 0n });
  });

  it('waits while the live job has not reached the range', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 3));
    expect(await registerFromOnFailure(tutorial, failed(5, 9), deps(h))).toEqual({
      status: 'waiting',
      checkpoint: 3n,
    });
    expect(h.checkpoints.allSkipped()).toEqual([]);
  });

  it('registers a batch given up before the checkpoint existed, and the redrive applies it', async () => {
    const h = harness();
    await h.run(tutorial, range(5, 8));
    const outcome = await registerFromOnFailure(tutorial, failed(0, 4), deps(h));
    expect(outcome).toMatchObject({ status: 'registered', range: { fromOffset: 0n, untilOffset: 5n } });
    expect(await h.run(tutorial, range(0, 5), { mode: 'redrive', contiguousFrom: 0n })).toMatchObject({
      applied: 5,
    });
    expect(sentRows(h.sink).size).toBe(8);
  });

  it.each([false, true])(
    'with the checkpoint inside the range (filters: %s), registers only the rest, and nothing is applied twice',
    async (filters) => {
      // GIVEN an overlapping invocation applied [0, 3), and the attempt that claimed [3, 6) failed until the event
      // source gave up on the batch [0, 6) it had been given
      const h = harness();
      await h.run(tutorial, range(0, 3), { filters });
      await expect(h.run(tutorial, range(3, 6), { filters, sink: crashingSink(h.sink, 0) })).rejects.toThrow(
        Crash,
      );

      // WHEN its on-failure record is registered
      const outcome = await registerFromOnFailure(tutorial, failed(0, 5), deps(h, filters));

      // THEN the skipped range is the claimed rest, the checkpoint moves past it, and the redrive of the whole
      // record's range from Kafka applies the rest once
      expect(outcome).toMatchObject({
        status: 'registered',
        range: { fromOffset: 3n, untilOffset: 6n, claimed: true },
      });
      expect(
        await h.run(tutorial, range(0, 6), { mode: 'redrive', contiguousFrom: 0n, filters }),
      ).toMatchObject({
        applied: 3,
      });
      expect(await h.run(tutorial, range(6, 8), { filters })).toMatchObject({ applied: 2, skipped: 0n });
      expect(sentRows(h.sink).size).toBe(8);
      expect(h.sink.conflicts).toEqual([]);
      // The live job's gap, had it come first, is the same range: registering the record again adds nothing.
      expect(await registerFromOnFailure(tutorial, failed(0, 5), deps(h, filters))).toMatchObject({
        status: 'registered',
        range: { fromOffset: 3n },
      });
      expect(h.checkpoints.allSkipped()).toHaveLength(1);
    },
  );

  it('says a range the checkpoint applied is applied', async () => {
    const h = harness();
    await h.run(tutorial, range(0, 12));
    expect(await registerFromOnFailure(tutorial, failed(5, 9), deps(h))).toEqual({
      status: 'applied',
      checkpoint: 12n,
    });
  });

  it('with filters, registers behind the checkpoint a given-up batch that was never claimed, in a lane of its own', async () => {
    const h = harness();
    const windowJob = createSensorStatsJob({
      windowSeconds: 60,
      slideSeconds: 60,
      allowedLatenessSeconds: 3600,
      failOnDataLoss: false,
    });
    const reading = (offset: number): KafkaRecord => ({
      topic: 'test',
      partition: 0,
      offset: BigInt(offset),
      timestamp: T0,
      timestampType: 'CREATE_TIME',
      key: null,
      value: Buffer.from(JSON.stringify({ sensorId: 's', ts: T0 + offset * 1000, value: offset })),
      headers: [],
    });
    const part = (offsets: number[]) => ({ topic: 'test', partition: 0, records: offsets.map(reading) });
    await h.run(windowJob, part([0, 1]), { filters: true });
    // [2, 4] was given up before any claim; the live job passes it as filtered.
    await h.run(windowJob, part([5, 6]), { filters: true });
    const outcome = await registerFromOnFailure(windowJob, failed(2, 4), deps(h, true));
    expect(outcome).toMatchObject({
      status: 'registered',
      range: { fromOffset: 2n, untilOffset: 5n, cursor: { lane: -3n } },
    });
    await h.run(windowJob, part([2, 3, 4]), { mode: 'redrive', contiguousFrom: 2n, filters: true });
    expect(mergedWindows(h.sink).get(`s|${T0}`)).toEqual({ count: 7, sum: 21, min: 0, max: 6 });
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

/**
 * As `play`, but the event source may give up on a delivery that crashed: the next one then starts after it,
 * leaving a gap. After the last live delivery, every pending skipped range is redriven twice at once (one of
 * the two may crash), then once more.
 */
async function playWithSkips(
  h: Harness,
  job: Job,
  all: readonly KafkaRecord[],
  deliveries: ReadonlyArray<Delivery & { giveUp: boolean }>,
  redriveCrash: number | undefined,
): Promise<number> {
  const topic = all[0]!.topic;
  const firstOffset = Math.min(deliveries[0]!.from, all.length - 1);
  let after: number | undefined;
  const swallowCrash = (p: Promise<unknown>) =>
    p.then(
      () => false,
      (e: unknown) => {
        if (!(e instanceof Crash)) throw e;
        return true;
      },
    );
  for (const d of deliveries) {
    const committed = Number([...h.checkpoints.rows.values()][0]?.nextOffset ?? BigInt(firstOffset));
    // A batch the event source gives up on is one with new records in it: it starts at the committed position.
    const from = after ?? Math.min(d.giveUp ? committed : d.from, committed, all.length - 1);
    after = undefined;
    const part = { topic, partition: 0, records: all.slice(from, from + d.length) };
    const overrides: Partial<PartitionDeps> =
      d.crash?.kind === 'cas'
        ? { checkpoints: crashingCheckpoints(h.checkpoints, d.crash.at) }
        : d.crash?.kind === 'sink'
          ? { sink: crashingSink(h.sink, d.crash.at) }
          : {};
    const runs = [swallowCrash(h.run(job, part, overrides))];
    if (d.twinLength > 0)
      runs.push(swallowCrash(h.run(job, { ...part, records: part.records.slice(0, d.twinLength) })));
    const [crashed] = await Promise.all(runs);
    const end = from + part.records.length;
    if (crashed && d.giveUp && end < all.length) after = end;
  }
  await h.run(job, { topic, partition: 0, records: all.slice(after ?? 0) });
  const redrive = (from: bigint, until: bigint, overrides: Partial<PartitionDeps> = {}) =>
    h.run(
      job,
      { topic, partition: 0, records: all.slice(Number(from), Number(until)) },
      { mode: 'redrive', contiguousFrom: from, ...overrides },
    );
  for (const range of h.checkpoints.allSkipped()) {
    const crashing = redriveCrash === undefined ? {} : { sink: crashingSink(h.sink, redriveCrash) };
    await Promise.all([
      swallowCrash(redrive(range.fromOffset, range.untilOffset, crashing)),
      redrive(range.fromOffset, range.untilOffset),
    ]);
    await redrive(range.fromOffset, range.untilOffset);
  }
  return firstOffset;
}

/**
 * A delivery the event source may give up on: it then fails (a crash after `failAfter` writes, if nothing else)
 * and no twin finishes it for it.
 */
const skippingDeliveryArb = fc
  .record({ delivery: deliveryArb, giveUp: fc.boolean(), failAfter: fc.nat({ max: 6 }) })
  .map(({ delivery, giveUp, failAfter }) => ({
    ...delivery,
    giveUp,
    crash: delivery.crash ?? (giveUp ? { kind: 'sink' as const, at: failAfter } : undefined),
    twinLength: giveUp ? 0 : delivery.twinLength,
  }));

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
  it('with batches the event source gives up on, live batches plus redrives apply each offset exactly once (tutorial)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 6, max: 30 }),
        fc.array(skippingDeliveryArb, { minLength: 1, maxLength: 10 }),
        fc.option(fc.nat({ max: 8 }), { nil: undefined }),
        fc.array(fc.nat({ max: 4 }), { maxLength: 16 }),
        async (count, deliveries, redriveCrash, delays) => {
          const h = harness(delays);
          const firstOffset = await playWithSkips(
            h,
            tutorial,
            range(0, count).records,
            deliveries,
            redriveCrash,
          );
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
          for (const r of h.checkpoints.allSkipped())
            expect(r).toMatchObject({ status: 'redriven', lost: 0n });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('with batches the event source gives up on, live batches plus redrives fold each reading exactly once (windows)', async () => {
    // No reading is late here: lateness after a skip has its own deterministic test above.
    const windowJob = createSensorStatsJob({
      windowSeconds: 5,
      slideSeconds: 5,
      allowedLatenessSeconds: 3600,
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
          { minLength: 6, maxLength: 40 },
        ),
        fc.array(skippingDeliveryArb, { minLength: 1, maxLength: 12 }),
        fc.option(fc.nat({ max: 8 }), { nil: undefined }),
        fc.array(fc.nat({ max: 4 }), { maxLength: 16 }),
        async (readings, deliveries, redriveCrash, delays) => {
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
          const firstOffset = await playWithSkips(h, windowJob, all, deliveries, redriveCrash);
          expect(h.sink.conflicts).toEqual([]);
          const applied = all.slice(firstOffset).map((r) => JSON.parse(r.value!.toString()) as Reading);
          expect(mergedWindows(h.sink)).toEqual(
            referenceWindows([applied], { sizeMs: 5000 }, 3_600_000).windows,
          );
          for (const r of h.checkpoints.allSkipped()) expect(r).toMatchObject({ status: 'redriven' });
        },
      ),
      { numRuns: 150 },
    );
  });
});
