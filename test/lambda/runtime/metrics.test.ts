import { afterEach, describe, expect, it, vi } from 'vitest';
import { emfReporter } from '../../../lambda/runtime/metrics';
import type { BatchReport } from '../../../lambda/runtime/batch';

const report: BatchReport = {
  job: 'sent-received',
  batchId: 'b-1',
  mode: 'live',
  startedAt: new Date('2026-05-21T02:20:05Z'),
  durationMs: 42,
  recordsIn: 10,
  written: 7,
  duplicates: 1,
  deadLettered: 2,
  late: 1,
  deferred: 0,
  skipped: 4n,
  filtered: 3n,
  lost: 0n,
  offsetRanges: [{ topic: 'test', partition: 0, fromOffset: 5n, untilOffset: 15n }],
  watermarkMs: Date.parse('2026-05-21T02:20:00Z'),
  // The oldest record waited its 5 s window; the newest arrived 30 ms before the batch started.
  recordTimestamps: {
    oldestMs: Date.parse('2026-05-21T02:20:00Z'),
    newestMs: Date.parse('2026-05-21T02:20:04.970Z'),
  },
  phases: { readClaimMs: 5, transformMs: 10, effectsMs: 20, commitMs: 5 },
  partitions: [],
};

afterEach(() => vi.restoreAllMocks());

describe('emfReporter', () => {
  it('writes one EMF line with the batch figures under the job dimension', () => {
    // Prepare: Powertools writes EMF to stdout, one JSON object per flush.
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(chunk.toString());
      return true;
    });

    // Act
    emfReporter({ namespace: 'MicroBatchTest', serviceName: 'sent-received' })(report);

    // Assess
    const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => '_aws' in l)!;
    const directive = (
      emf._aws as {
        CloudWatchMetrics: Array<{
          Namespace: string;
          Dimensions: string[][];
          Metrics: Array<{ Name: string; Unit: string }>;
        }>;
      }
    ).CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe('MicroBatchTest');
    expect(directive.Dimensions[0]).toContain('job');
    expect(directive.Metrics.map((m) => m.Name)).toEqual(
      expect.arrayContaining([
        'RecordsIn',
        'RecordsWritten',
        'Duplicates',
        'DeadLettered',
        'Late',
        'SkippedOffsets',
        'FilteredOffsets',
        'Lost',
        'BatchDuration',
        'WatermarkDelay',
      ]),
    );
    expect(emf).toMatchObject({
      job: 'sent-received',
      RecordsIn: 10,
      RecordsWritten: 7,
      Duplicates: 1,
      DeadLettered: 2,
      Late: 1,
      SkippedOffsets: 4,
      FilteredOffsets: 3,
      BatchDuration: 42,
      WatermarkDelay: 5000,
      // From each record's Kafka timestamp to the batch's end (started + 42 ms).
      OldestRecordLatency: 5042,
      NewestRecordLatency: 72,
    });
  });

  it('leaves out the record latencies of a replay, whose records are as old as the data it re-reads', () => {
    // Prepare
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(chunk.toString());
      return true;
    });

    // Act
    emfReporter({ namespace: 'MicroBatchTest', serviceName: 'sent-received' })({ ...report, mode: 'replay' });

    // Assess
    const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => '_aws' in l)!;
    expect(emf).toMatchObject({ RecordsIn: 10, BatchDuration: 42 });
    expect(emf).not.toHaveProperty('OldestRecordLatency');
    expect(emf).not.toHaveProperty('NewestRecordLatency');
  });
});
