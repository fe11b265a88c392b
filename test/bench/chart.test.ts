import { describe, expect, it } from 'vitest';
import { renderChart } from '../../bench/chart';
import type { BenchReport } from '../../bench/report';

/** A report with what the throughput and CPU panels read. */
function report(): BenchReport {
  const cpu = { seconds: 4, machine: 1.9, byProcess: {}, other: 0 };
  return {
    mode: 'full',
    startedAt: '2026-12-01T01:13:12.354Z',
    machine: { cpuModel: 'cpu', cores: 2, memoryGiB: 24, node: 'v20', kafka: '4.4.0', cassandra: '5.0.9' },
    settings: { count: 200_000, payloadBytes: 100, partitions: 3, batchSize: 10_000, windowSeconds: 5 },
    cassandraCeiling: {
      best: { method: 'unlogged batch', concurrency: 8, run: 1, rate: 100_000, cpuMicrosPerRecord: {} },
      levels: [],
    },
    kafkaCeiling: null,
    pipeline: {
      rate: 50_000,
      seconds: 4,
      steady: { rate: 75_000, rows: 160_000, seconds: 2.133 },
      ratioToCassandra: 0.75,
      timeline: [{ t: 0, rate: 50_000 }],
      cpu,
      cpuMicrosPerRecord: { bench: 9.9, cassandra: 19.9, kafka: 1.9 },
      steadyCpu: { cpu, cpuMicrosPerRecord: { bench: 6.6, cassandra: 17.1, kafka: 1.2 } },
    },
    latency: [],
    restart: null,
    handlers: null,
  } as unknown as BenchReport;
}

describe('renderChart', () => {
  it('GIVEN a steady part THEN the CPU panel shows the CPU per record the targets judge, the steady part’s', () => {
    const svg = renderChart(report());
    expect(svg).toContain('pipeline (steady part)');
    expect(svg).toContain('client 6.6 + cassandra 17.1 + kafka 1.2 µs');
    expect(svg).not.toContain('client 9.9');
  });

  it("GIVEN a steady rate THEN the ceiling's levels are marked with it, the rate the ratio takes", () => {
    const svg = renderChart(report());
    expect(svg).toContain('pipeline 75,000/s');
    expect(svg).not.toContain('pipeline 50,000/s');
  });
});
