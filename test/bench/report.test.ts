import { describe, expect, it } from 'vitest';
import { cassandraCostAtRate, cpuBound, targetsOf } from '../../bench/report';

type Input = Parameters<typeof targetsOf>[0];

/** A report with only what the targets read; the rest of the shape is the bench's, not under test here. */
function report(parts: Partial<Record<keyof Input, unknown>>): Input {
  return {
    machine: { cores: 2 },
    pipeline: null,
    cassandraCeiling: null,
    kafkaCeiling: null,
    runnerEmptyHandler: null,
    lambdaSized: null,
    latency: [],
    restart: null,
    handlers: null,
    ...parts,
  } as unknown as Input;
}

const best = {
  method: 'unlogged batch',
  rate: 50_000,
  // 36 µs of the machine's CPU a row at 50,000 rows/s: 1.8 of the machine's 2 cores busy.
  cpuMicrosPerRecord: { bench: 10, cassandra: 30, machine: 36 },
};
// Two levels of the best method: Cassandra costs 36 µs a row at 40,000/s, 30 at 50,000/s.
const ceiling = {
  best,
  levels: [
    { method: 'unlogged batch', rate: 40_000, cpuMicrosPerRecord: { bench: 11, cassandra: 36 } },
    { method: 'unlogged batch', rate: 50_000, cpuMicrosPerRecord: { bench: 10, cassandra: 30 } },
  ],
};
const dist = (p99: number): object => ({ p99 });
const batches = {
  count: 24,
  meanRecords: 3333,
  meanDurationMs: 248,
  meanReadClaimMs: 54,
  meanTransformMs: 7,
  meanEffectsMs: 171,
  meanCommitMs: 16,
  meanOtherMs: 22,
};

/** The targets of a pipeline run against `ceiling`: its whole run at 30,000/s, `pipeline` the rest. */
const pipelineTargets = (pipeline: object) =>
  targetsOf(report({ cassandraCeiling: ceiling, pipeline: { rate: 30_000, ...pipeline } }));

describe('targetsOf', () => {
  it("GIVEN the pipeline and the ceiling THEN judges the ratio and both CPU factors against issue 12's", () => {
    // The steady rate is judged; the whole run's, with its join and last window, is shown beside it.
    const targets = pipelineTargets({
      steady: { rate: 46_000, rows: 160_000, seconds: 3.478 },
      cpuMicrosPerRecord: { bench: 16, cassandra: 36, machine: 55 },
      // CPU per record is judged over the same steady part; the whole run's is shown beside it.
      steadyCpu: { cpuMicrosPerRecord: { bench: 14, cassandra: 34, machine: 50 } },
    });
    expect(targets.map((t) => [t.name, t.holds])).toEqual([
      ['pipeline throughput', true], // 92% >= 90%
      ['consumer CPU per record', false], // 1.4x > 1.3x
      ['Cassandra CPU per record', false], // 1.13x > 1.1x
    ]);
    expect(targets[0]!.measured).toBe('46,000/s = 92.0% (whole run 30,000/s)');
    expect(targets[1]!.measured).toBe('14.0 µs = 1.40x (whole run 16.0 µs = 1.60x)');
    expect(targets[2]!.measured).toBe('34.0 µs = 1.13x (whole run 36.0 µs = 1.20x)');
    // A target that holds has no bound; one that misses says what bounds it, from what the run measured
    expect(targets[0]).not.toHaveProperty('bound');
    expect(targets[2]).toMatchObject({
      // 46,000/s is 60% of the way from 40,000 (36 µs) to 50,000/s (30 µs): 32.4 µs, and 34 / 32.4 = 1.05
      bound:
        "the pipeline's rate: at 46,000 rows/s the ceiling's unlogged batch levels cost 32.4 µs a row, and the pipeline 1.05x that",
      next: "a higher pipeline rate (Cassandra's cost per row falls as its rate rises)",
    });
  });

  it('GIVEN a pipeline that costs Cassandra more than the ceiling at its own rate THEN the next step is not a higher rate', () => {
    const targets = pipelineTargets({
      steady: { rate: 46_000, rows: 160_000, seconds: 3.478 },
      cpuMicrosPerRecord: { bench: 16, cassandra: 40, machine: 58 },
      steadyCpu: { cpuMicrosPerRecord: { bench: 14, cassandra: 40, machine: 56 } },
    });
    expect(targets[2]).toMatchObject({
      name: 'Cassandra CPU per record',
      holds: false,
      // 40 µs against the ceiling's 32.4 at 46,000 rows/s: 1.23x, more than 1.1x.
      bound:
        "the pipeline's rate: at 46,000 rows/s the ceiling's unlogged batch levels cost 32.4 µs a row, and the pipeline 1.23x that",
      next: expect.stringMatching(/^less Cassandra work per row: even at its own rate/),
    });
  });

  it('GIVEN a pipeline that misses the ratio and the runs around it THEN each miss names its measured bound', () => {
    const targets = targetsOf(
      report({
        cassandraCeiling: ceiling,
        pipeline: {
          rate: 30_000,
          steady: { rate: 37_000, rows: 160_000, seconds: 4.3 },
          cpuMicrosPerRecord: { bench: 21, cassandra: 36, machine: 62 },
          // 37,000 rows/s at 53 µs a row: 1.96 cores busy.
          steadyCpu: { cpuMicrosPerRecord: { bench: 18, cassandra: 36, machine: 53 } },
        },
        kafkaCeiling: {
          records: 200_000,
          seconds: 0.8,
          rate: 250_000,
          cpu: { seconds: 6, machine: 0.4, byProcess: { bench: 0.2 }, other: 0 },
        },
        runnerEmptyHandler: { cpuMicrosPerRecord: { bench: 7.4 } },
        lambdaSized: {
          variants: [
            { label: '512 MB', memoryMb: 512, cpuMicrosPerRecord: 15.7 },
            { label: '1024 MB', memoryMb: 1024, cpuMicrosPerRecord: 13.3 },
          ],
        },
      }),
    );
    expect(targets.map((t) => [t.name, t.holds])).toEqual([
      ['pipeline throughput', false], // 74% < 90%
      ['consumer CPU per record', false], // 1.8x
      ['Cassandra CPU per record', false], // 1.2x
    ]);
    expect(targets[0]).toMatchObject({
      // 2 cores at 53 µs a row write at most 2 / 53 µs = 37,736 rows/s, 75.5% of 50,000/s. Not the ceiling's 36 µs
      // over the pipeline's 53 (67.9%): the ceiling kept 1.8 cores busy, not 2, and the pipeline's 74% is above that.
      bound:
        "CPU: the machine spends 53.0 µs per row against the ceiling's 36.0, so its 2 cores, saturated, write at most 37,736 rows/s: 75.5% of the ceiling",
      next: 'less CPU per row, in the consumer and in Cassandra (the next two targets)',
    });
    expect(targets[1]).toMatchObject({
      // kafkajs alone: 0.2 cores for 6 s over 200,000 records = 6 µs a record
      bound:
        "the runner, which does the event source mapping's work in this process: 7.4 µs a record with an empty handler from the group join " +
        '(kafkajs alone from the group join, an empty eachBatch: 6.0); the handler alone, Lambda-sized (1024 MB): 13.3 µs = 1.33x',
      next: "a lighter Kafka fetch path for the local runner (in Lambda, the event source mapping's)",
    });
  });

  it('GIVEN a pipeline that misses the ratio with CPU to spare THEN its bound does not blame the CPU per row', () => {
    // GIVEN 40,000 of 50,000 rows/s (80%) at 30 µs of the machine's CPU a row: 1.2 of 2 cores busy, and 2 cores
    // at 30 µs a row would write 66,667 rows/s, 133% of the ceiling
    const targets = pipelineTargets({
      steady: { rate: 40_000, rows: 160_000, seconds: 4 },
      cpu: { machine: 1.1 },
      cpuMicrosPerRecord: { bench: 10, cassandra: 18, machine: 32 },
      steadyCpu: { cpu: { machine: 1.2 }, cpuMicrosPerRecord: { bench: 10, cassandra: 18, machine: 30 } },
    });
    // THEN the miss is the idle cores', and the next step is not less CPU per row
    expect(targets[0]).toMatchObject({
      holds: false,
      bound:
        "not the CPU per row: at 30.0 µs per row the machine's 2 cores allow 133.3% of the ceiling, and 1.20 of them were busy",
      next: "keep the cores busy: more batches or requests in flight (pollers, the sink's write concurrency), or less of each batch's serial part (read + claim, commit)",
    });
  });

  it('GIVEN a steady part that meets the CPU factors and a whole run that does not THEN the steady part decides', () => {
    const targets = pipelineTargets({
      steady: { rate: 46_000, rows: 160_000, seconds: 3.478 },
      cpuMicrosPerRecord: { bench: 20, cassandra: 40 },
      steadyCpu: { cpuMicrosPerRecord: { bench: 13, cassandra: 33 } },
    });
    expect(targets.slice(1).map((t) => [t.name, t.holds])).toEqual([
      ['consumer CPU per record', true], // 1.3x
      ['Cassandra CPU per record', true], // 1.1x
    ]);
  });

  it('GIVEN a pipeline with no steady part THEN judges the whole run, rate and CPU alike', () => {
    const targets = pipelineTargets({
      steady: null,
      cpuMicrosPerRecord: { bench: 14, cassandra: 34 },
      steadyCpu: null,
    });
    expect(targets[0]).toMatchObject({ measured: '30,000/s = 60.0% (whole run 30,000/s)', holds: false });
    expect(targets[1]).toMatchObject({ measured: '14.0 µs = 1.40x', holds: false });
    expect(targets[2]).toMatchObject({ measured: '34.0 µs = 1.13x', holds: false });
  });

  it('GIVEN both latency phases THEN holds each processing delay to its own limit, beside the raw latency', () => {
    const targets = targetsOf(
      report({
        latency: [
          {
            name: 'fixed',
            rate: 2000,
            windowSeconds: 5,
            processingDelayMs: dist(101),
            rowWrittenMs: dist(5100),
            batches,
          },
          {
            name: 'half',
            rate: 20_000,
            windowSeconds: 5,
            processingDelayMs: dist(240),
            rowWrittenMs: dist(900),
            batches,
          },
        ],
      }),
    );
    expect(targets).toEqual([
      {
        name: 'processing delay p99 at 2,000/s, window 5 s',
        target: '<= 100 ms',
        measured: '101 ms (latency p99 5,100 ms)',
        holds: false,
        bound: 'its batches: 3,333 records in 248 ms: read + claim 54, writes 171, commit 16 ms (means)',
        next: 'fewer records a batch (the batch size), or one Paxos round fewer a batch (a claim without the read)',
      },
      {
        name: 'processing delay p99 at 20,000/s, window 5 s',
        target: '<= 250 ms',
        measured: '240 ms (latency p99 900 ms)',
        holds: true,
      },
    ]);
  });

  it('GIVEN a ceiling THEN a missed processing delay names the floor its batches put under it', () => {
    // GIVEN a 50,000/s ceiling, and three pollers whose batches of 3,333 rows close apart
    const targets = targetsOf(
      report({
        cassandraCeiling: ceiling,
        settings: { partitions: 3, pollers: 'default' },
        latency: [
          {
            name: 'fixed',
            rate: 2000,
            windowSeconds: 5,
            processingDelayMs: dist(330),
            fetchDelayMs: dist(41),
            rowWrittenMs: dist(5300),
            batches,
          },
        ],
      }),
    );
    // THEN: 0.99 * 3,333 / 50,000 s = 66 ms for one batch; 100 ms needs 32,997 rows/s; and the delay's part
    // before the runner is named
    expect(targets[0]!.bound).toBe(
      'its batches: 3,333 records in 248 ms: read + claim 54, writes 171, commit 16 ms (means); ' +
        'send to fetched p99 41 ms; ' +
        "floor at the ceiling's 50,000/s: the last 1% of a batch's rows written 66 ms after it closes; " +
        '100 ms needs a ceiling of 32,997/s',
    );
  });

  it('GIVEN a restart and bundles THEN the restart has 5 s, and redrive alone has the larger budget', () => {
    const targets = targetsOf(
      report({
        restart: { processUpMs: 600, joinedMs: 4200, fetchedMs: 4300, firstBatchMs: 5001 },
        handlers: {
          handlers: [
            { handler: 'sent-received', bytes: 500 * 1024, importMs: 60, bareImportMs: 68.4, breakdown: [] },
            {
              handler: 'query',
              bytes: 500 * 1024 + 1,
              importMs: 10,
              breakdown: [{ name: 'cassandra-driver', bytes: 341_079 }],
            },
            {
              handler: 'producer',
              bytes: 1000,
              importMs: 61,
              importParts: { builtinsMs: 11.2, compileMs: 20.4, topLevelMs: 29.4 },
              breakdown: [{ name: 'kafkajs', bytes: 269_312 }],
            },
            { handler: 'redrive', bytes: 900 * 1024, importMs: 50, breakdown: [] },
          ],
        },
      }),
    );
    expect(targets.map((t) => [t.name, t.holds])).toEqual([
      ['restart after SIGKILL', false],
      ['bundle sent-received', true],
      ['bundle query', false],
      ['bundle producer', false],
      ['bundle redrive', true],
    ]);
    expect(targets[0]).toMatchObject({
      bound:
        'its steps from the kill: process start 600 ms, group join 3,600 ms, first fetch 100 ms, first batch 701 ms',
      next: 'a shorter group join (3,600 ms)',
    });
    // The target is the import after the Lambda runtime's modules; the bare process's is shown beside it.
    expect(targets[1]).toMatchObject({
      target: "<= 500 KB, import <= 60 ms (in a process with the Lambda runtime's modules)",
      measured: '500 KB, 60 ms (in a bare process 68 ms)',
    });
    expect(targets[2]).toMatchObject({
      bound: 'its largest part, cassandra-driver 333 KB',
      next: 'less code loaded at import (its largest part: cassandra-driver 333 KB)',
    });
    expect(targets[3]).toMatchObject({
      bound:
        "its import: Node's built-in modules 11 ms, compiling 20 ms, running the modules' top-level code 29 ms",
      next: 'less code loaded at import (its largest part: kafkajs 263 KB)',
    });
  });
});

describe('cassandraCostAtRate', () => {
  const level = (rate: number, cassandra: number) => ({ rate, cpuMicrosPerRecord: { bench: 12, cassandra } });
  // The ceiling's unlogged-batch levels of 2026-11-30: Cassandra's cost per row falls as the rate rises.
  const levels = [level(32_934, 45.1), level(24_726, 53.9), level(35_292, 41.5), level(29_723, 48.9)];

  it('GIVEN a rate between two levels THEN interpolates between them, whatever order the levels came in', () => {
    // Halfway from 24,726/s (53.9 µs) to 29,723/s (48.9 µs).
    expect(cassandraCostAtRate(levels, 27_224.5)).toEqual({ micros: 51.4, within: true });
  });

  it("GIVEN a rate outside the levels' rates THEN the nearest level's cost, flagged", () => {
    expect(cassandraCostAtRate(levels, 20_000)).toEqual({ micros: 53.9, within: false });
    expect(cassandraCostAtRate(levels, 50_000)).toEqual({ micros: 41.5, within: false });
  });

  it("GIVEN no level with Cassandra's CPU THEN nothing to compare with", () => {
    expect(cassandraCostAtRate([{ rate: 1000, cpuMicrosPerRecord: { bench: 3 } }], 1000)).toBeNull();
  });
});

describe('cpuBound', () => {
  it("GIVEN the pipeline's machine CPU per row THEN the ratio to the ceiling that the machine's cores allow", () => {
    // The run of 2026-12-01 01:13: 25.1 µs a row in the pipeline, a ceiling of 105,858 rows/s at 17.6 µs a row
    // (1.86 of 2 cores busy). 2 cores / 25.1 µs = 79,681 rows/s = 75.3% of the ceiling; the pipeline measured
    // 71.4%, above the 70.1% that 17.6 / 25.1 gave as its "at most".
    expect(cpuBound({ machine: 25.1 }, 105_858, 2)).toBeCloseTo(0.7527, 4);
  });

  it('GIVEN no machine CPU or no ceiling THEN no bound', () => {
    expect(cpuBound({ bench: 5 }, 105_858, 2)).toBeNull();
    expect(cpuBound({ machine: 25.1 }, 0, 2)).toBeNull();
  });
});
