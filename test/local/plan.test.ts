import { CONSUMER_MEMORY_MB } from '../../config';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ASSUMPTIONS,
  COMMITTED_BENCH_CPU,
  PlanInputError,
  QUOTAS,
  benchCpuPerRecord,
  plan,
  renderPlan,
  runPlanCommand,
} from '../../local/plan';

// Hand-computed with cpu 19 µs, 512 MB: a record costs 0.019 x 1769 / 512 = 0.06564648 ms; a batch adds 4
// round trips of 10 ms; a full batch of 10,000 takes 40 + 656.4648 = 696.4648 ms, so a partition carries
// 10,000 / 0.6964648 = 14,358.2 records/s.
// The hand-computed cases below were worked out for 512 MB consumers; the default is tested on its own.
const base = { recordBytes: 100, cpuMicrosPerRecord: 19, memoryMb: 512 } as const;

describe('plan', () => {
  it('at 1,000 records/s of 100 B: 3 partitions, batches of the 5 s window, costs per day', () => {
    const p = plan({ ...base, rate: 1000 });

    expect(p.partitionCapacity).toBeCloseTo(14_358.2, 0);
    expect(p.partitions).toBe(3);
    // 333.3 records/s per partition x 5 s
    expect(p.recordsPerBatch).toBeCloseTo(1666.667, 2);
    expect(p.batchDurationMs).toBeCloseTo(40 + 1666.667 * 0.06564648, 2);
    expect(p.invocationsPerSecond).toBeCloseTo(0.6, 6);
    expect(p.concurrency).toBeCloseTo(0.6 * 0.14941, 4);
    expect(p.pollers).toBe(1);
    expect(p.provisionedPollersNeeded).toBe(false);
    expect(p.brokers).toBe(2);
    // A row of 100 + 132 B is 1 WRU; per batch 2 LWTs (claim, commit) and a ledger row, and 1 checkpoint read
    expect(p.sentReceived).toEqual({
      wru: expect.closeTo(1000 + 1.2 + 0.6, 6),
      rru: expect.closeTo(0.6, 6),
      checkpointWru: expect.closeTo(1.2, 6),
    });
    // 16 keys per batch, over 1 + 5/60 windows
    expect(p.sensorStats.partialsPerSecond).toBeCloseTo(0.6 * 16 * (1 + 5 / 60), 6);
    expect(p.sensorStats.rru).toBeCloseTo(10.4 + 0.6, 6);
    expect(p.costPerDayUsd.lambda).toBeCloseTo(
      0.08965 * 0.5 * 86_400 * 0.0000133334 + 0.6 * 86_400 * 0.2e-6,
      3,
    );
    expect(p.costPerDayUsd.keyspaces).toBeCloseTo(1001.8 * 86_400 * 1.45e-6 + 0.6 * 86_400 * 0.29e-6, 2);
  });

  it('at 1,000,000 records/s: 100 partitions, full batches, and the Keyspaces table quota binds first', () => {
    const p = plan({ ...base, rate: 1_000_000 });

    // ceil(1e6 / (14,358.2 x 0.7)) = ceil(99.5)
    expect(p.partitions).toBe(100);
    expect(p.recordsPerBatch).toBe(10_000);
    expect(p.invocationsPerSecond).toBe(100);
    expect(p.concurrency).toBeCloseTo(69.646, 2);
    // 100 MB/s / 5 MB/s per poller = 20; 69.6 / 5 invocations per poller = 14
    expect(p.pollers).toBe(20);
    expect(p.provisionedPollersNeeded).toBe(true);
    expect(p.bindsFirst).toMatchObject({
      name: 'Keyspaces WRU/s of the sink table (sent_received)',
      demand: 1_000_000,
      limit: 40_000,
      used: 25,
      source: QUOTAS.keyspacesTableWru.source,
    });
  });

  it('with too few partitions, the partitions bind first', () => {
    const p = plan({ ...base, rate: 100_000, partitions: 2 });
    expect(p.bindsFirst.name).toBe('records per partition a second (full batches back to back)');
    expect(p.bindsFirst.used).toBeCloseTo(50_000 / 14_358.2, 3);
  });

  it('caps a batch at the 6 MB payload for large records', () => {
    // A 1 MiB record is 1,398,104 B of base64 plus 150 B of metadata: 4 fit in 6 MiB
    const p = plan({ ...base, recordBytes: 1024 * 1024, rate: 100, partitions: 1 });
    expect(p.recordsPerBatch).toBe(4);
    // 1 MiB + 132 B is 1,025 WRU a row
    expect(p.sentReceived.wru).toBeCloseTo(100 * 1025 + p.invocationsPerSecond * 3, 6);
  });

  it('scales the per-record time with the memory: twice the memory, half the CPU time', () => {
    const small = plan({ ...base, rate: 100_000, partitions: 10 });
    const large = plan({ ...base, rate: 100_000, partitions: 10, memoryMb: 1024 });
    expect(large.batchDurationMs - 40).toBeCloseTo((small.batchDurationMs - 40) / 2, 6);
  });

  it("GIVEN no memory THEN plans the consumers' default, CONSUMER_MEMORY_MB", () => {
    const byDefault = plan({
      recordBytes: base.recordBytes,
      cpuMicrosPerRecord: base.cpuMicrosPerRecord,
      rate: 1000,
    });
    const explicit = plan({ ...base, rate: 1000, memoryMb: CONSUMER_MEMORY_MB });
    expect(byDefault.batchDurationMs).toBe(explicit.batchDurationMs);
    expect(byDefault.input.memoryMb).toBe(CONSUMER_MEMORY_MB);
  });

  it('refuses input it cannot plan for, naming the option and the range', () => {
    expect(() => plan({ ...base, rate: 0 })).toThrow(PlanInputError);
    expect(() => plan({ ...base, rate: 1000, recordBytes: 0 })).toThrow(
      /--record-bytes must be an integer from 1/,
    );
    expect(() => plan({ ...base, rate: 1000, windowSeconds: 301 })).toThrow(
      /--window must be a number from 0 to 300, received 301/,
    );
    expect(() => plan({ ...base, rate: 1000, partitions: 1.5 })).toThrow(/--partitions must be an integer/);
  });

  it('names a source for every quota and assumption it uses', () => {
    for (const q of [...Object.values(QUOTAS), ...Object.values(ASSUMPTIONS)]) {
      expect(q.source).toMatch(/^(https:\/\/|this model$|docs\/)/);
    }
    const text = renderPlan(plan({ ...base, rate: 10_000 }), 'test');
    for (const q of Object.values(QUOTAS)) expect(text).toContain(q.source);
    expect(text).toMatch(/^Binds first: .* https:\/\//m);
  });
});

describe('the plan command', () => {
  it('prints the plan, with the CPU of the committed bench when there is no result', () => {
    const out: string[] = [];
    const code = runPlanCommand({ rate: '1000', 'record-bytes': '100' }, join(tmpdir(), 'no-such-dir'), (l) =>
      out.push(l),
    );
    expect(code).toBe(0);
    expect(out.join('\n')).toContain(
      `CPU ${COMMITTED_BENCH_CPU.micros} µs/record, ${COMMITTED_BENCH_CPU.source}`,
    );
  });

  it('GIVEN --memory THEN plans the consumers at that size', () => {
    const out: string[] = [];
    const code = runPlanCommand(
      { rate: '1000', 'record-bytes': '100', memory: '1769' },
      join(tmpdir(), 'no-such-dir'),
      (l) => out.push(l),
    );
    expect(code).toBe(0);
    expect(out.join('\n')).toContain(`ms each at 1769 MB (CPU ${COMMITTED_BENCH_CPU.micros} µs/record`);
  });

  it('exits 2 with the message and the usage on bad input', () => {
    const err: string[] = [];
    expect(
      runPlanCommand(
        { 'record-bytes': '100' },
        tmpdir(),
        () => {},
        (l) => err.push(l),
      ),
    ).toBe(2);
    expect(err.join('\n')).toMatch(/--rate is required\.\n\nUsage: microbatch plan --rate/);
    expect(
      runPlanCommand(
        { rate: 'fast', 'record-bytes': '100' },
        tmpdir(),
        () => {},
        (l) => err.push(l),
      ),
    ).toBe(2);
    expect(err.join('\n')).toContain("--rate must be a number, received 'fast'.");
  });
});

describe('benchCpuPerRecord', () => {
  it('takes the newest full run, skipping smoke runs and unreadable files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'microbatch-plan-'));
    try {
      const report = (micros: number) =>
        JSON.stringify({ pipeline: { cpuMicrosPerRecord: { bench: micros } } });
      writeFileSync(join(dir, 'bench-2026-11-20T10-00-00-000Z.json'), report(25));
      writeFileSync(join(dir, 'bench-2026-11-21T10-00-00-000Z.json'), report(21));
      writeFileSync(join(dir, 'bench-2026-11-22T10-00-00-000Z-smoke.json'), report(99));
      writeFileSync(join(dir, 'bench-2026-11-23T10-00-00-000Z.json'), '{"pipeline": nu');
      expect(benchCpuPerRecord(dir)).toEqual({
        micros: 21,
        source: 'bench/results/bench-2026-11-21T10-00-00-000Z.json',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("GIVEN a run with Lambda-sized measures THEN takes the handler's CPU at the plan's memory, else the pipeline's", () => {
    const dir = mkdtempSync(join(tmpdir(), 'microbatch-plan-'));
    try {
      writeFileSync(
        join(dir, 'bench-2026-11-30T10-00-00-000Z.json'),
        JSON.stringify({
          pipeline: { cpuMicrosPerRecord: { bench: 25 } },
          lambdaSized: {
            runs: [
              { memoryMb: 512, cpuMicrosPerRecord: 22.8 },
              { memoryMb: 1024, cpuMicrosPerRecord: 18.8 },
              { memoryMb: null, cpuMicrosPerRecord: 12.5 },
            ],
          },
        }),
      );
      expect(benchCpuPerRecord(dir, 512)).toEqual({
        micros: 22.8,
        source:
          'bench/results/bench-2026-11-30T10-00-00-000Z.json, the handler in a 512 MB Lambda-sized process',
      });
      // By default, at the consumers' memory.
      expect(CONSUMER_MEMORY_MB).toBe(1024);
      expect(benchCpuPerRecord(dir).micros).toBe(18.8);
      // A memory size the run did not measure: the pipeline phase's number.
      expect(benchCpuPerRecord(dir, 2048)).toEqual({
        micros: 25,
        source: 'bench/results/bench-2026-11-30T10-00-00-000Z.json',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN a run of several rounds THEN takes the median over the rounds, not one of its runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'microbatch-plan-'));
    try {
      writeFileSync(
        join(dir, 'bench-2026-12-01T10-00-00-000Z.json'),
        JSON.stringify({
          pipeline: { cpuMicrosPerRecord: { bench: 25 } },
          lambdaSized: {
            runs: [
              { memoryMb: 1024, cpuMicrosPerRecord: 23.1 },
              { memoryMb: 1024, cpuMicrosPerRecord: 17.9 },
              { memoryMb: 1024, cpuMicrosPerRecord: 19.2 },
            ],
            variants: [{ memoryMb: 1024, cpuMicrosPerRecord: 19.2, rounds: 3 }],
          },
        }),
      );
      expect(benchCpuPerRecord(dir, 1024)).toEqual({
        micros: 19.2,
        source:
          'bench/results/bench-2026-12-01T10-00-00-000Z.json, the handler in a 1024 MB Lambda-sized process, median of 3 runs',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the committed number without results', () => {
    expect(benchCpuPerRecord(join(tmpdir(), 'no-such-dir'))).toBe(COMMITTED_BENCH_CPU);
  });
});
