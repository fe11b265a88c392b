/**
 * The environment contract between the CDK app and the Lambda handlers: the variables the stacks set and the
 * handlers read, named once here.
 */

/** Every handler of a job, and the query function. */
export const RUNTIME_ENV = {
  /** `local` (Apache Cassandra) or `keyspaces`. */
  target: 'MICROBATCH_TARGET',
  keyspace: 'MICROBATCH_KEYSPACE',
  stage: 'MICROBATCH_STAGE',
  /** The job's name. */
  job: 'MICROBATCH_JOB',
  /** The job's config as JSON, validated again by the same `loadConfig` when the handler starts. */
  jobConfig: 'MICROBATCH_JOB_CONFIG',
} as const;

/** The query function's settings. */
export const QUERY_ENV = {
  /** JSON: the `JobView` of every job (config/jobs.ts), so the function reads any job without its code. */
  jobs: 'MICROBATCH_QUERY_JOBS',
} as const;

/** The cluster's IAM bootstrap broker string, for the functions that talk to MSK themselves. */
export const BOOTSTRAP_BROKERS_ENV = 'MICROBATCH_BOOTSTRAP_BROKERS';

/** The scheduled producer's settings. */
export const PRODUCER_ENV = {
  topic: 'MICROBATCH_PRODUCER_TOPIC',
  ratePerSecond: 'MICROBATCH_PRODUCER_RATE_PER_SECOND',
  durationSeconds: 'MICROBATCH_PRODUCER_DURATION_SECONDS',
} as const;

/** The redrive function's settings. */
export const REDRIVE_ENV = {
  /** The URL of the job's on-failure queue. */
  queueUrl: 'MICROBATCH_ON_FAILURE_QUEUE_URL',
} as const;

/** The consumer group a job's redrive function reads with (the construct grants it exactly this group). */
export function redriveGroupId(consumerGroupId: string): string {
  return `${consumerGroupId}-redrive`;
}

/**
 * The consumer group of each event source mapping of a job, by topic: the job's own id with one topic, else one
 * group per topic (`<id>-<topic>`), because Lambda requires the group IDs of its Kafka event source mappings to
 * be unique. https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html (customizable consumer group ID)
 */
export function eventSourceGroupIds(
  consumerGroupId: string,
  topics: readonly string[],
): Readonly<Record<string, string>> {
  return Object.fromEntries(
    topics.map((t) => [t, topics.length === 1 ? consumerGroupId : `${consumerGroupId}-${t}`]),
  );
}
