/**
 * A micro-batch beyond its partitions' own protocol (lambda/runtime/batch.ts): the Kafka timestamps of its
 * oldest and newest record, and from them the latency the ledger, the UI and the metrics show; and what a batch
 * that fails after some of its partitions committed leaves for the redrive of its on-failure record.
 */
import { describe, expect, it } from 'vitest';
import {
  progressLine,
  recordLatencies,
  recordTimestampsOf,
  runMicroBatch,
  type BatchReport,
} from '../../../lambda/runtime/batch';
import { processPartition, registerFromOnFailure } from '../../../lambda/runtime/checkpoint';
import { SinkError } from '../../../lambda/runtime/errors';
import { parseMskEvent, toMskEvent, type KafkaRecord } from '../../../lambda/runtime/event';
import { createSensorStatsJob } from '../../../lambda/jobs/sensor-stats';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { batchOf, LOCAL_CLUSTER_ARN } from '../../support/events';
import {
  delegatingSink,
  MemoryCheckpointStore,
  MemorySinkStore,
  mergedWindows,
} from '../../support/memory-store';

const T0 = Date.UTC(2026, 4, 21, 2, 20, 0);

/** Two partitions whose records carry the given timestamps, through the real MSK event shape. */
function twoPartitions(timestamps: readonly [number[], number[]]) {
  const records: KafkaRecord[] = timestamps.flatMap((times, partition) =>
    times.map((timestamp, i) => ({
      topic: 'test',
      partition,
      offset: BigInt(i),
      timestamp,
      timestampType: 'CREATE_TIME',
      key: null,
      value: Buffer.from(new Date(T0).toISOString()),
      headers: [],
    })),
  );
  return parseMskEvent(
    toMskEvent(records, { eventSourceArn: LOCAL_CLUSTER_ARN, bootstrapServers: 'b:9092' }),
  );
}

describe('recordTimestampsOf', () => {
  it('GIVEN records on two partitions THEN takes the oldest and newest timestamp across both', () => {
    expect(
      recordTimestampsOf(
        twoPartitions([
          [T0 + 300, T0 + 4000],
          [T0 + 100, T0 + 4900],
        ]),
      ),
    ).toEqual({
      oldestMs: T0 + 100,
      newestMs: T0 + 4900,
    });
  });

  it('GIVEN records without a timestamp (Kafka sends -1) THEN leaves them out, and null when none has one', () => {
    expect(
      recordTimestampsOf(
        twoPartitions([
          [-1, T0 + 200],
          [T0 + 700, -1],
        ]),
      ),
    ).toEqual({
      oldestMs: T0 + 200,
      newestMs: T0 + 700,
    });
    expect(recordTimestampsOf(twoPartitions([[-1], [-1]]))).toBeNull();
    // A producer may set any int64: one past a Date's range is left out too.
    expect(recordTimestampsOf(twoPartitions([[T0], [9e15]]))).toEqual({ oldestMs: T0, newestMs: T0 });
  });
});

describe('progressLine', () => {
  it('GIVEN a watermark past a Date (a checkpoint from before event times were bounded) THEN prints null, not a throw', () => {
    const report = { offsetRanges: [], phases: {}, mode: 'live' } as unknown as BatchReport;
    expect(progressLine({ ...report, watermarkMs: -8.64e15 - 10_000 }).watermark).toBeNull();
    expect(progressLine({ ...report, watermarkMs: T0 }).watermark).toBe('2026-05-21T02:20:00.000Z');
  });
});

describe('recordLatencies', () => {
  it("THEN measures from each timestamp to the batch's end, and keeps a producer clock ahead as negative", () => {
    const startedAt = new Date(T0 + 5000);
    expect(
      recordLatencies({ startedAt, durationMs: 40, recordTimestamps: { oldestMs: T0, newestMs: T0 + 4990 } }),
    ).toEqual({ oldestMs: 5040, newestMs: 50 });
    expect(
      recordLatencies({ startedAt, durationMs: 40, recordTimestamps: { oldestMs: T0, newestMs: T0 + 6000 } }),
    ).toEqual({ oldestMs: 5040, newestMs: -960 });
    expect(recordLatencies({ startedAt, durationMs: 40, recordTimestamps: null })).toBeNull();
  });
});

describe('runMicroBatch', () => {
  it("GIVEN a batch THEN its report, and the ledger entry, carry its records' oldest and newest timestamp", async () => {
    // GIVEN
    const sink = new MemorySinkStore();
    const batch = batchOf('test', ['2026-05-21T02:19:59Z', '2026-05-21T02:20:00Z', 'x'], { timestamp: T0 });

    // WHEN
    const report = await runMicroBatch(
      createSentReceivedJob({ timeFormat: 'iso', failOnDataLoss: false }),
      batch,
      {
        checkpoints: new MemoryCheckpointStore(),
        sink,
        log: () => undefined,
      },
    );

    // THEN: batchOf stamps the records T0, T0 + 1, T0 + 2, the dead-lettered one included.
    expect(report.recordTimestamps).toEqual({ oldestMs: T0, newestMs: T0 + 2 });
    expect(sink.ledger).toEqual([
      expect.objectContaining({ recordTimestamps: { oldestMs: T0, newestMs: T0 + 2 } }),
    ]);
  });
});

describe('a batch of two partitions given up after one of them committed', () => {
  const sensors = createSensorStatsJob({
    windowSeconds: 60,
    slideSeconds: 60,
    allowedLatenessSeconds: 3600,
    failOnDataLoss: false,
  });
  /** Five readings of value 1 on `partition`, offsets 0 to 4, all in the window of T0. */
  const readings = (partition: number) => ({
    topic: 'sensor-readings',
    partition,
    records: Array.from({ length: 5 }, (_, i) => ({
      topic: 'sensor-readings',
      partition,
      offset: BigInt(i),
      timestamp: T0,
      timestampType: 'CREATE_TIME',
      key: null,
      value: Buffer.from(JSON.stringify({ sensorId: 's', ts: T0 + i * 1000, value: 1 })),
      headers: [],
    })),
  });

  /** Partitions 0 and 1 with their five readings each, in one event. */
  const twoPartitions10 = () => ({
    eventSource: 'aws:kafka' as const,
    eventSourceArn: LOCAL_CLUSTER_ARN,
    bootstrapServers: 'b:9092',
    partitions: [readings(0), readings(1)],
    recordCount: 10,
  });

  it.each([false, true])(
    'GIVEN filters %s THEN the redrive of its on-failure record applies only the partition that failed',
    async (filters) => {
      // GIVEN partition 1's partial writes refused on every attempt, while partition 0 commits on the first
      const checkpoints = new MemoryCheckpointStore();
      const sink = new MemorySinkStore();
      const refusing = delegatingSink(sink, {
        compareAndSetPartial: async (table, row, expected) => {
          if (row['kafka_partition'] === 1) throw new SinkError('throughput exceeded', true);
          return sink.compareAndSetPartial(table, row, expected);
        },
      });
      const batch = twoPartitions10();
      for (let attempt = 1; attempt <= 3; attempt++)
        await expect(
          runMicroBatch(sensors, batch, { checkpoints, sink: refusing, filters, log: () => undefined }),
        ).rejects.toThrow(SinkError);

      // WHEN the event source gives up, its on-failure record naming both partitions, and a redrive runs
      const deps = { checkpoints, clock: () => new Date(T0 + 60_000), batchId: 'redrive', filters };
      const outcomes = [];
      for (const partition of [0, 1]) {
        outcomes.push(
          await registerFromOnFailure(
            sensors,
            {
              topic: 'sensor-readings',
              partition,
              firstOffset: 0n,
              lastOffset: 4n,
              condition: 'RetryAttemptsExhausted',
              record: '{}',
            },
            deps,
          ),
        );
      }
      for (const partition of [0, 1])
        await processPartition(sensors, readings(partition), {
          ...deps,
          sink,
          warn: () => undefined,
          mode: 'redrive',
          contiguousFrom: 0n,
        });

      // THEN partition 0 counts as applied, partition 1 is redriven, and each reading counts once
      expect(outcomes.map((o) => o.status)).toEqual(['applied', 'registered']);
      expect(mergedWindows(sink).get(`s|${T0}`)).toEqual({ count: 10, sum: 10, min: 1, max: 1 });
    },
  );

  it('GIVEN filters and a partition still running near the deadline THEN notes the one that committed before the kill', async () => {
    // GIVEN partition 1's partial writes hanging, as a slow Keyspaces would until the function times out
    const checkpoints = new MemoryCheckpointStore();
    const sink = new MemorySinkStore();
    let release!: () => void;
    const hung = new Promise<void>((resolve) => (release = resolve));
    const hanging = delegatingSink(sink, {
      compareAndSetPartial: async (table, row, expected) => {
        if (row['kafka_partition'] === 1) await hung;
        return sink.compareAndSetPartial(table, row, expected);
      },
    });
    const batch = twoPartitions10();

    // WHEN the invocation has 3.05 s left: the note is due 50 ms in
    const running = runMicroBatch(sensors, batch, {
      checkpoints,
      sink: hanging,
      filters: true,
      log: () => undefined,
      remainingMs: () => 3050,
    });
    const ref = (partition: number) => ({ job: sensors.name, topic: 'sensor-readings', partition });
    await expect
      .poll(async () => (await checkpoints.listSkipped(ref(0), 10n)).map((r) => r.status), { timeout: 2000 })
      .toEqual(['applied']);

    // THEN partition 0 is noted while partition 1 still runs, and nothing of partition 1
    expect(await checkpoints.listSkipped(ref(1), 10n)).toEqual([]);
    release();
    await running;
  });
});
