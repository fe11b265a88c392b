import { describe, expect, it } from 'vitest';
import {
  bestConcurrency,
  cpuPerRecord,
  medianRun,
  type CeilingLevel,
  type CeilingMethod,
} from '../../bench/cassandra-ceiling';

describe('cpuPerRecord', () => {
  it('GIVEN cores used over seconds WHEN divided by records THEN gives µs per record per process and machine', () => {
    const use = { seconds: 2, machine: 1.5, byProcess: { bench: 0.5, cassandra: 1 }, other: 0 };
    // bench: 0.5 core × 2 s = 1 s of CPU for 100,000 records = 10 µs each.
    expect(cpuPerRecord(use, 100_000)).toEqual({ bench: 10, cassandra: 20, machine: 30 });
  });

  it('GIVEN a client at 4.24 µs a row THEN keeps the hundredths the 1.3x target is judged on', () => {
    // 0.424 cores for 1 s over 100,000 rows: 4.24 µs. Rounded to 4.2, a consumer at 5.5 µs would read 1.31x and
    // miss the 1.3x target that 5.5 / 4.24 = 1.297x meets.
    const use = { seconds: 1, machine: 0.424, byProcess: { bench: 0.424 }, other: 0 };
    expect(cpuPerRecord(use, 100_000)).toEqual({ bench: 4.24, machine: 4.24 });
  });

  it('GIVEN no records WHEN divided THEN counts one, never dividing by zero', () => {
    const use = { seconds: 1, machine: 0.000001, byProcess: {}, other: 0 };
    expect(cpuPerRecord(use, 0)).toEqual({ machine: 1 });
  });
});

/** A run of a level with only what the selection reads. */
function level(method: CeilingMethod, concurrency: number, run: number, rate: number): CeilingLevel {
  return {
    method,
    rowsPerRequest: method === 'single' ? 1 : 30,
    concurrency,
    run,
    writes: 100_000,
    seconds: 100_000 / rate,
    rate,
    cpu: { seconds: 1, machine: 1, byProcess: {}, other: 0 },
    cpuMicrosPerRecord: {},
  };
}

describe('bestConcurrency', () => {
  it("GIVEN a sweep and repeats WHEN asked for a method's best level THEN takes the sweep's fastest of that method", () => {
    const levels = [
      level('single', 32, 1, 18_000),
      level('unlogged batch', 4, 1, 47_000),
      level('unlogged batch', 16, 1, 39_000),
      // A repeat faster than the sweep's best does not move the choice: repeats only confirm it.
      level('unlogged batch', 16, 2, 60_000),
    ];
    expect(bestConcurrency(levels, 'unlogged batch')).toBe(4);
    expect(bestConcurrency(levels, 'single')).toBe(32);
  });

  it('GIVEN a method that was not measured THEN has no best level', () => {
    expect(bestConcurrency([level('single', 32, 1, 18_000)], 'unlogged batch')).toBeUndefined();
  });
});

describe('medianRun', () => {
  it('GIVEN three runs of a level WHEN one was lucky THEN the middle run stands for the level', () => {
    const lucky = level('unlogged batch', 4, 1, 46_969);
    const runs = [lucky, level('unlogged batch', 4, 2, 33_000), level('unlogged batch', 4, 3, 38_000)];
    expect(medianRun(runs)).toBe(runs[2]);
  });

  it('GIVEN an even count of runs THEN takes the lower of the middle two, never rounding the ceiling up', () => {
    const runs = [level('single', 64, 1, 19_000), level('single', 64, 2, 17_000)];
    expect(medianRun(runs).rate).toBe(17_000);
    expect(medianRun([runs[0]!])).toBe(runs[0]);
  });

  it('GIVEN no runs THEN says so instead of returning nothing', () => {
    expect(() => medianRun([])).toThrow(/at least one run/);
  });
});
