import { describe, expect, it, vi } from 'vitest';
import { rollupByMinute, Sampler } from '../../../local/ui/sampler';
import type { BatchRow, UiData } from '../../../local/ui/data';
import type { UiJob } from '../../../local/ui/jobs';

const minute = Date.parse('2026-05-21T12:00:00Z');

const job: UiJob = {
  name: 'sensor-stats',
  kind: 'window',
  doc: '',
  topics: ['sensor-readings'],
  consumerGroupId: 'g',
  batchingWindowSeconds: 5,
  partitionsPerTopic: { 'sensor-readings': 1 },
};

function batch(id: string, startOffsetMs: number, extra: Partial<BatchRow> = {}): BatchRow {
  return {
    job: 'sensor-stats',
    batchId: id,
    startedAt: new Date(minute + startOffsetMs),
    durationMs: 100,
    recordsIn: 10,
    written: 8,
    duplicates: 0,
    deadLettered: 2,
    late: 1,
    offsetRanges: [],
    watermarkMs: null,
    phases: null,
    skipped: null,
    filtered: null,
    deferred: null,
    lost: null,
    mode: null,
    partitions: null,
    recordTimestamps: null,
    ...extra,
  };
}

describe('rollupByMinute', () => {
  it('folds each minute’s batches, and writes zero for a minute without any', () => {
    const batches = [
      batch('a', 1000, { phases: { readClaimMs: 10, transformMs: 20, effectsMs: 50, commitMs: 15 } }),
      batch('b', 30_000, { durationMs: 300, watermarkMs: minute + 20_000 }),
      batch('c', 50_000, { durationMs: 200, watermarkMs: minute + 40_000 }),
      batch('d', 61_000),
    ];
    const reasons: Record<string, Record<string, number>> = {
      a: { schema: 1, late: 1 },
      b: { 'invalid-json': 2 },
      c: { late: 1, schema: 1 },
      d: { schema: 2 },
    };
    const out = rollupByMinute(batches, minute, minute + 180_000, (b) => reasons[b.batchId]!);
    expect([...out.keys()]).toEqual([minute, minute + 60_000, minute + 120_000]);
    expect(out.get(minute)).toEqual({
      batches: 3,
      recordsIn: 30,
      written: 24,
      deadLettered: 6,
      late: 3,
      durationMsSum: 600,
      liveDurationMsSum: 600,
      durationMsMax: 300,
      phasedBatches: 1,
      phaseSums: { readClaimMs: 10, transformMs: 20, effectsMs: 50, commitMs: 15 },
      // The last batch of the minute with a watermark: c, ending at 50.2 s, 10.2 s after its watermark.
      watermarkMs: minute + 40_000,
      watermarkGapMs: 10_200,
      deadLetterReasons: { schema: 2, late: 2, 'invalid-json': 2 },
      latencyMaxMs: null,
    });
    expect(out.get(minute + 60_000)).toMatchObject({
      batches: 1,
      recordsIn: 10,
      deadLetterReasons: { schema: 2 },
    });
    expect(out.get(minute + 120_000)).toMatchObject({
      batches: 0,
      recordsIn: 0,
      watermarkMs: null,
      deadLetterReasons: {},
    });
  });

  it('GIVEN a replay and a redrive in the minute THEN counts only the live batches as input', () => {
    const out = rollupByMinute(
      [
        batch('live', 0, { mode: 'live' }),
        batch('old', 1000),
        batch('r', 2000, { mode: 'replay', durationMs: 5000 }),
        batch('d', 3000, { mode: 'redrive', durationMs: 700 }),
      ],
      minute,
      minute + 60_000,
      () => ({}),
    );
    // THEN the live batch and the one from before the ledger kept the mode: 10 + 10, in 100 + 100 ms
    expect(out.get(minute)).toMatchObject({
      batches: 4,
      recordsIn: 20,
      durationMsSum: 5900,
      liveDurationMsSum: 200,
    });
  });

  it("GIVEN live batches with record timestamps THEN keeps the minute's longest latencies, a replay's left out", () => {
    // GIVEN: latencies run to each batch's end (start + 100 ms)
    const stamped = (oldest: number, newest: number) => ({
      recordTimestamps: { oldestMs: minute + oldest, newestMs: minute + newest },
    });
    const out = rollupByMinute(
      [
        batch('a', 5000, { mode: 'live', ...stamped(0, 4900) }), // 5,100 and 200
        batch('b', 10_000, { mode: 'live', ...stamped(5500, 9000) }), // 4,600 and 1,100
        batch('c', 11_000), // no timestamps: a ledger row from before they were kept
        batch('r', 20_000, { mode: 'replay', ...stamped(-86_400_000, -3_600_000) }),
      ],
      minute,
      minute + 60_000,
      () => ({}),
    );

    // THEN: the oldest record's longest latency, and the newest record's, not necessarily of the same batch
    expect(out.get(minute)!.latencyMaxMs).toEqual({ oldestMs: 5100, newestMs: 1100 });
  });

  it('says the reasons are unknown when one batch’s are', () => {
    const out = rollupByMinute([batch('a', 0), batch('b', 1000)], minute, minute + 60_000, (b) =>
      b.batchId === 'a' ? { schema: 2 } : null,
    );
    expect(out.get(minute)!.deadLetterReasons).toBeNull();
  });
});

describe('Sampler.stop', () => {
  it('GIVEN the start-up backfill still reading THEN waits for it and it writes nothing more, so the client can shut down under no query', async () => {
    const now = Date.parse('2026-05-21T12:00:00Z');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    const warnings: Array<Record<string, unknown>> = [];
    const data = {
      // The backfill's first ledger read (the tick's reads start from `now - 3 min`) waits on the gate.
      batchesBetween: async (_job: string, from: Date) => {
        calls.push(`read ${from.toISOString()}`);
        if (from.getTime() < now - 3_600_000) await gate;
        return { rows: [], truncated: false };
      },
      writeRollup: async () => void calls.push('write'),
    } as unknown as UiData;
    const sampler = new Sampler({
      data,
      jobs: () => [job],
      admin: null,
      clock: () => now,
      log: (line) => warnings.push(line),
    });
    sampler.start();
    await vi.waitFor(() => expect(calls.some((c) => c.startsWith('read 2026-05-21T10'))).toBe(true));
    let stopped = false;
    const stopping = sampler.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    const writesBefore = calls.filter((c) => c === 'write').length;
    release();
    await stopping;
    // Stopped mid-hour: the rest of that hour's rollups, and the hours after it, are not written.
    expect(calls.filter((c) => c === 'write').length).toBe(writesBefore);
    expect(warnings).toEqual([]);
  });
});

describe('Sampler.stop, Kafka not answering', () => {
  it('GIVEN a lag read waiting on Kafka (its connection retries) THEN stops at once, and writes nothing after', async () => {
    const writes: string[] = [];
    let asked!: () => void;
    const reading = new Promise<void>((resolve) => (asked = resolve));
    const never = () => {
      asked();
      return new Promise<never>(() => undefined);
    };
    const data = {
      batchesBetween: async () => ({ rows: [], truncated: false }),
      writeRollup: async () => void writes.push('rollup'),
      writeLagSample: async () => void writes.push('lag'),
    } as unknown as UiData;
    const sampler = new Sampler({
      data,
      jobs: () => [job],
      admin: { fetchTopicOffsets: never, fetchOffsets: never, describeGroups: never },
      backfill: false,
      log: () => undefined,
    });
    sampler.start();
    await reading;
    const answer = await Promise.race([
      sampler.stop().then(() => 'stopped'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting on Kafka'), 200)),
    ]);
    expect(answer).toBe('stopped');
    expect(writes).toEqual([]);
  });
});
