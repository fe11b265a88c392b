import { describe, expect, it } from 'vitest';
import { cassandraCostAtRate, targetsOf } from '../../bench/report';

type Input = Parameters<typeof targetsOf>[0];

/** A report with only what the targets read; the rest of the shape is the bench's, not under test here. */
function report(parts: Partial<Record<keyof Input, unknown>>): Input {
  return {
    pipeline: null,
    cassandraCeiling: null,
    latency: [],
    restart: null,
    handlers: null,
    ...parts,
  } as unknown as Input;
}

const ceiling = { best: { rate: 50_000, cpuMicrosPerRecord: { bench: 10, cassandra: 30 } } };
const dist = (p99: number): object => ({ p99 });

describe('targetsOf', () => {
  it("GIVEN the pipeline and the ceiling THEN judges the ratio and both CPU factors against issue 12's", () => {
    const targets = targetsOf(
      report({
        cassandraCeiling: ceiling,
        // The steady rate is judged; the whole run's, with its join and last window, is shown beside it.
        pipeline: {
          rate: 30_000,
          steady: { rate: 46_000, rows: 160_000, seconds: 3.478 },
          cpuMicrosPerRecord: { bench: 16, cassandra: 36 },
          // CPU per record is judged over the same steady part; the whole run's is shown beside it.
          steadyCpu: { cpuMicrosPerRecord: { bench: 14, cassandra: 34 } },
        },
      }),
    );
    expect(targets.map((t) => [t.name, t.holds])).toEqual([
      ['pipeline throughput', true], // 92% >= 90%
      ['consumer CPU per record', false], // 1.4x > 1.3x
      ['Cassandra CPU per record', false], // 1.13x > 1.1x
    ]);
    expect(targets[0]!.measured).toBe('46,000/s = 92.0% (whole run 30,000/s)');
    expect(targets[1]!.measured).toBe('14.0 µs = 1.40x (whole run 16.0 µs = 1.60x)');
    expect(targets[2]!.measured).toBe('34.0 µs = 1.13x (whole run 36.0 µs = 1.20x)');
  });

  it('GIVEN a steady part that meets the CPU factors and a whole run that does not THEN the steady part decides', () => {
    const targets = targetsOf(
      report({
        cassandraCeiling: ceiling,
        pipeline: {
          rate: 30_000,
          steady: { rate: 46_000, rows: 160_000, seconds: 3.478 },
          cpuMicrosPerRecord: { bench: 20, cassandra: 40 },
          steadyCpu: { cpuMicrosPerRecord: { bench: 13, cassandra: 33 } },
        },
      }),
    );
    expect(targets.slice(1).map((t) => [t.name, t.holds])).toEqual([
      ['consumer CPU per record', true], // 1.3x
      ['Cassandra CPU per record', true], // 1.1x
    ]);
  });

  it('GIVEN a pipeline with no steady part THEN judges the whole run, rate and CPU alike', () => {
    const targets = targetsOf(
      report({
        cassandraCeiling: ceiling,
        pipeline: {
          rate: 30_000,
          steady: null,
          cpuMicrosPerRecord: { bench: 14, cassandra: 34 },
          steadyCpu: null,
        },
      }),
    );
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
          },
          {
            name: 'half',
            rate: 20_000,
            windowSeconds: 5,
            processingDelayMs: dist(240),
            rowWrittenMs: dist(900),
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
      },
      {
        name: 'processing delay p99 at 20,000/s, window 5 s',
        target: '<= 250 ms',
        measured: '240 ms (latency p99 900 ms)',
        holds: true,
      },
    ]);
  });

  it('GIVEN a restart and bundles THEN the restart has 5 s, and redrive alone has the larger budget', () => {
    const targets = targetsOf(
      report({
        restart: { firstBatchMs: 5001 },
        handlers: {
          handlers: [
            { handler: 'sent-received', bytes: 500 * 1024, importMs: 60 },
            { handler: 'query', bytes: 500 * 1024 + 1, importMs: 10 },
            { handler: 'producer', bytes: 1000, importMs: 61 },
            { handler: 'redrive', bytes: 900 * 1024, importMs: 50 },
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
