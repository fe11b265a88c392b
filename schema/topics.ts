/**
 * The topics and the jobs that read them: the second half of the one typed schema.
 * The CDK topic custom resource, the local setup and the handlers all read these.
 */

export interface TopicDef {
  readonly name: string;
  readonly doc: string;
  /** Default partition count; the config can raise it (partitions only ever grow). */
  readonly partitions: number;
}

/** The tutorial's topic: each value is the time it was sent. */
export const TEST_TOPIC: TopicDef = {
  name: 'test',
  doc: 'The tutorial stream: the current time, once a second.',
  partitions: 3,
};

/** JSON readings `{sensorId, ts, value}` for the sensor-stats job. */
export const SENSOR_TOPIC: TopicDef = {
  name: 'sensor-readings',
  doc: 'JSON sensor readings {sensorId, ts, value}.',
  partitions: 3,
};

export const TOPICS = [TEST_TOPIC, SENSOR_TOPIC] as const;

export const JOB_NAMES = ['sent-received', 'sensor-stats'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export interface JobCatalogEntry {
  readonly name: JobName;
  readonly doc: string;
  readonly topics: readonly string[];
  /** The sink tables the job writes, besides the runtime's own tables. */
  readonly sinkTables: readonly string[];
  /** The Lambda entry point, relative to the repository root. */
  readonly handlerEntry: string;
}

/** Which job reads which topics and writes which tables: the CDK and the local runner both use this. */
export const JOB_CATALOG: Readonly<Record<JobName, JobCatalogEntry>> = {
  'sent-received': {
    name: 'sent-received',
    doc: 'The tutorial: stores (time_sent, time_received) for every record of topic test.',
    topics: [TEST_TOPIC.name],
    sinkTables: ['sent_received'],
    handlerEntry: 'lambda/handlers/sent-received.ts',
  },
  'sensor-stats': {
    name: 'sensor-stats',
    doc: 'Count, sum, min, max and mean per sensor and event-time window.',
    topics: [SENSOR_TOPIC.name],
    sinkTables: ['sensor_stats'],
    handlerEntry: 'lambda/handlers/sensor-stats.ts',
  },
};

/** Tables every job writes through the runtime, whatever its sink. */
export const RUNTIME_TABLES = [
  'offset_checkpoints',
  'skipped_ranges',
  'batch_ledger',
  'dead_letters',
] as const;

export function isJobName(value: unknown): value is JobName {
  return typeof value === 'string' && (JOB_NAMES as readonly string[]).includes(value);
}
