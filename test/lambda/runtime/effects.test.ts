/**
 * The effects of a batch as they land in the in-memory model of the stores: what a window partial holds, and what
 * a dead letter says of its record.
 */
import { describe, expect, it } from 'vitest';
import { createSensorStatsJob } from '../../../lambda/jobs/sensor-stats';
import { runMicroBatch } from '../../../lambda/runtime/batch';
import { DEAD_LETTERS, SENSOR_STATS, SENSOR_TOPIC } from '../../../schema';
import { batchOf } from '../../support/events';
import { MemoryCheckpointStore, MemorySinkStore } from '../../support/memory-store';

const T0 = Date.UTC(2026, 4, 21, 2, 20, 0);
const reading = (value: number, ts = T0 + 1_000) => JSON.stringify({ sensorId: 's1', ts, value });

function sensorStats() {
  return createSensorStatsJob({
    windowSeconds: 60,
    slideSeconds: 0,
    allowedLatenessSeconds: 10,
    failOnDataLoss: false,
  });
}

function stores() {
  return { checkpoints: new MemoryCheckpointStore(), sink: new MemorySinkStore(), log: () => undefined };
}

describe('window effects', () => {
  it('never lets a window sum overflow to Infinity: a measure too large for it is a dead letter', async () => {
    // GIVEN finite readings whose sum is not (1e308 + 1e308 is Infinity) next to an ordinary one
    const deps = stores();
    const batch = batchOf(SENSOR_TOPIC.name, [reading(1e308), reading(1e308), reading(2)]);
    // WHEN the batch runs
    const report = await runMicroBatch(sensorStats(), batch, deps);
    // THEN the window holds a finite sum, and each reading too large is dead-lettered with the bound it exceeds
    const [row] = deps.sink.rows(SENSOR_STATS);
    expect(row).toMatchObject({ reading_count: 1n, value_sum: 2, value_min: 2, value_max: 2 });
    expect(report).toMatchObject({ written: 1, deadLettered: 2 });
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([
      expect.objectContaining({
        reason: 'schema',
        detail: expect.stringMatching(/measure is 1e\+308: .*at most/),
      }),
      expect.objectContaining({ reason: 'schema', kafka_offset: 1n }),
    ]);
  });

  it('takes a measure at the bound, and sums many of them to a finite number', async () => {
    const deps = stores();
    const big = Number.MAX_VALUE / 2 ** 64;
    await runMicroBatch(
      sensorStats(),
      batchOf(SENSOR_TOPIC.name, [reading(big), reading(-big), reading(big)]),
      deps,
    );
    const [row] = deps.sink.rows(SENSOR_STATS);
    expect(row).toMatchObject({ reading_count: 3n, value_sum: big, value_min: -big, value_max: big });
  });
});

describe('event times ahead of their record', () => {
  const HOUR = 3_600_000;
  const job = (maxEventTimeAheadSeconds?: number) =>
    createSensorStatsJob({
      windowSeconds: 60,
      slideSeconds: 0,
      allowedLatenessSeconds: 10,
      failOnDataLoss: false,
      ...(maxEventTimeAheadSeconds === undefined ? {} : { maxEventTimeAheadSeconds }),
    });
  // An on-time reading, one stamped two hours ahead of its Kafka timestamp (T0 + its index), and another on time.
  const readings = [reading(1), reading(2, T0 + 2 * HOUR), reading(3)];

  it('GIVEN a limit THEN a reading further ahead is a dead letter, and the watermark stays with the others', async () => {
    // GIVEN a limit of an hour
    const deps = stores();

    // WHEN the batch runs
    const report = await runMicroBatch(job(3600), batchOf(SENSOR_TOPIC.name, readings), deps);

    // THEN the far reading is dead-lettered as future, saying by how much, and the last reading is not late
    expect(report).toMatchObject({ written: 2, deadLettered: 1, late: 0 });
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([
      expect.objectContaining({
        kafka_offset: 1n,
        reason: 'future',
        detail: expect.stringMatching(
          /^Event time 2026-05-21T04:20:00.000Z is 7199999 ms ahead of .* 3600000 ms allowed/,
        ),
      }),
    ]);
    expect(deps.sink.rows(SENSOR_STATS)).toEqual([
      expect.objectContaining({ reading_count: 2n, value_sum: 4 }),
    ]);
  });

  it('GIVEN no limit (the default) THEN the far reading moves the watermark, and the next one is late', async () => {
    const deps = stores();
    const report = await runMicroBatch(job(), batchOf(SENSOR_TOPIC.name, readings), deps);
    expect(report).toMatchObject({ written: 2, deadLettered: 1, late: 1 });
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([
      expect.objectContaining({ kafka_offset: 2n, reason: 'late' }),
    ]);
  });

  it('GIVEN a record without a Kafka timestamp (-1) THEN its event time is not checked against one', async () => {
    const deps = stores();
    const report = await runMicroBatch(
      job(3600),
      batchOf(SENSOR_TOPIC.name, [reading(1, T0 + 2 * HOUR)], { timestamp: -1 }),
      deps,
    );
    expect(report).toMatchObject({ written: 1, deadLettered: 0 });
  });
});

describe('dead letters', () => {
  it("keep a record without a Kafka timestamp (-1) as one of unknown time, not 1969's last millisecond", async () => {
    // GIVEN a malformed record whose Kafka timestamp is -1: no timestamp (a pre-0.10 message format)
    const deps = stores();
    const batch = batchOf(SENSOR_TOPIC.name, ['{not json'], { timestamp: -1 });
    expect(batch.partitions[0]!.records[0]!.timestamp).toBe(-1);
    // WHEN it is dead-lettered
    await runMicroBatch(sensorStats(), batch, deps);
    // THEN its dead letter has no record time
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([
      expect.objectContaining({ reason: 'invalid-json', record_timestamp: null }),
    ]);
  });

  it('keep the Kafka timestamp of a record that has one, the epoch itself included', async () => {
    const deps = stores();
    await runMicroBatch(sensorStats(), batchOf(SENSOR_TOPIC.name, ['{not json'], { timestamp: 0 }), deps);
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([
      expect.objectContaining({ record_timestamp: new Date(0) }),
    ]);
  });
});
