/**
 * What a micro-batch reports beyond its partitions' outcomes (lambda/runtime/batch.ts): the Kafka timestamps of
 * its oldest and newest record, and from them the latency the ledger, the UI and the metrics show.
 */
import { describe, expect, it } from 'vitest';
import { recordLatencies, recordTimestampsOf, runMicroBatch } from '../../../lambda/runtime/batch';
import { parseMskEvent, toMskEvent, type KafkaRecord } from '../../../lambda/runtime/event';
import { batchOf, LOCAL_CLUSTER_ARN } from '../../support/events';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { MemoryCheckpointStore, MemorySinkStore } from '../../support/memory-store';

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
