/**
 * sensor-stats: JSON readings `{sensorId, ts, value}`; count, sum, min, max (and mean on read) per sensor and
 * event-time window. `ts` is epoch milliseconds or an ISO-8601 string.
 */
import { SENSOR_TOPIC } from '../../schema';
import type { SensorStatsConfig } from '../../config';
import { json, SchemaViolation } from '../runtime/decoders';
import { defineWindowJob, type WindowJob } from '../runtime/job';

export interface SensorReading {
  readonly sensorId: string;
  readonly ts: number;
  readonly value: number;
}

export function validateReading(input: unknown): SensorReading {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SchemaViolation('$', 'expected an object {sensorId, ts, value}');
  }
  const { sensorId, ts, value } = input as Record<string, unknown>;
  if (typeof sensorId !== 'string' || sensorId.length === 0 || sensorId.length > 256) {
    throw new SchemaViolation('$.sensorId', 'expected a non-empty string of at most 256 characters');
  }
  let time: number;
  if (typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= 0) time = ts;
  else if (typeof ts === 'string' && !Number.isNaN(Date.parse(ts))) time = Date.parse(ts);
  else throw new SchemaViolation('$.ts', 'expected epoch milliseconds or an ISO-8601 string');
  if (value === null || value === undefined)
    throw new SchemaViolation('$.value', 'is required and may not be null');
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new SchemaViolation('$.value', 'expected a finite number');
  return { sensorId, ts: time, value };
}

export function createSensorStatsJob(
  config: Pick<
    SensorStatsConfig,
    'windowSeconds' | 'slideSeconds' | 'allowedLatenessSeconds' | 'failOnDataLoss'
  >,
  overrides: { readonly name?: string; readonly topics?: readonly string[] } = {},
): WindowJob<SensorReading> {
  return defineWindowJob({
    name: overrides.name ?? 'sensor-stats',
    topics: overrides.topics ?? [SENSOR_TOPIC.name],
    decoder: json(validateReading),
    window: { sizeMs: config.windowSeconds * 1000, slideMs: config.slideSeconds * 1000 },
    allowedLatenessMs: config.allowedLatenessSeconds * 1000,
    failOnDataLoss: config.failOnDataLoss,
    eventTime: (r) => r.ts,
    key: (r) => r.sensorId,
    measure: (r) => r.value,
  });
}
