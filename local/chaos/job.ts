/**
 * The job the fault suite runs: sensor-stats' code on a topic and under a name of its own, with event-source
 * settings that let batches be given up on (provisioned pollers with two retries), so that skipped ranges and
 * their redrive are part of every run.
 */
import type { EventSourceConfig } from '../../config';
import { createSensorStatsJob } from '../../lambda/jobs/sensor-stats';
import type { WindowJob } from '../../lambda/runtime/job';
import type { SensorReading } from '../../lambda/jobs/sensor-stats';

/** The window and lateness of the suite; readings.ts keeps on-time jitter well inside the lateness. */
export const CHAOS_WINDOW_SECONDS = 10;
export const CHAOS_LATENESS_SECONDS = 30;

export function chaosJob(name: string, topic: string): WindowJob<SensorReading> {
  return createSensorStatsJob(
    {
      windowSeconds: CHAOS_WINDOW_SECONDS,
      slideSeconds: CHAOS_WINDOW_SECONDS,
      allowedLatenessSeconds: CHAOS_LATENESS_SECONDS,
      failOnDataLoss: false,
    },
    { name, topics: [topic] },
  );
}

/** The event source knobs of a chaos runner (`from`: a replay's start, epoch ms). */
export function chaosSource(consumerGroupId: string, from?: number): EventSourceConfig {
  return {
    batchSize: 500,
    maxBatchingWindowSeconds: from === undefined ? 1 : 0,
    startingPosition: from === undefined ? 'TRIM_HORIZON' : 'AT_TIMESTAMP',
    startingPositionTimestamp: from === undefined ? undefined : Math.floor(from / 1000),
    consumerGroupId,
    retryAttempts: 2,
    maxRecordAgeSeconds: -1,
    bisectBatchOnError: false,
    reportBatchItemFailures: false,
    provisionedPollers: { minimumPollers: 1, maximumPollers: 1 },
    filters: [],
  };
}
