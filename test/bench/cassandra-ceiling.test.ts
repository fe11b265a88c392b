import { describe, expect, it } from 'vitest';
import { cpuPerRecord } from '../../bench/cassandra-ceiling';

describe('cpuPerRecord', () => {
  it('GIVEN cores used over seconds WHEN divided by records THEN gives µs per record per process and machine', () => {
    const use = { seconds: 2, machine: 1.5, byProcess: { bench: 0.5, cassandra: 1 }, other: 0 };
    // bench: 0.5 core × 2 s = 1 s of CPU for 100,000 records = 10 µs each.
    expect(cpuPerRecord(use, 100_000)).toEqual({ bench: 10, cassandra: 20, machine: 30 });
  });

  it('GIVEN no records WHEN divided THEN counts one, never dividing by zero', () => {
    const use = { seconds: 1, machine: 0.000001, byProcess: {}, other: 0 };
    expect(cpuPerRecord(use, 0)).toEqual({ machine: 1 });
  });
});
