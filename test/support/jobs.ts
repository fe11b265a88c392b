/**
 * The shipped jobs, as the registry gives them (test/lambda/runtime/registry.test.ts checks that it does),
 * imported statically: `it.each` needs them while tests are collected, before any asynchronous hook runs.
 */
import { pipelineTables, topicsOf, type RegisteredJobDescriptor } from '../../config/jobs';
import pageViews from '../../lambda/jobs/page-views';
import sensorStats from '../../lambda/jobs/sensor-stats';
import sentReceived from '../../lambda/jobs/sent-received';
import type { RegisteredJob } from '../../lambda/runtime/registry';
import type { TableDef, TopicDef } from '../../schema';

export const SHIPPED_JOBS: readonly RegisteredJob[] = [pageViews, sensorStats, sentReceived].map((job) => ({
  ...job,
  entry: `lambda/jobs/${job.name}.ts`,
}));

/** The names of the shipped jobs, sorted. */
export const JOB_NAMES: readonly string[] = SHIPPED_JOBS.map((j) => j.name);

/** Every table of the shipped jobs and the runtime's own, as the Keyspaces stack and `setup` create them. */
export const ALL_TABLES: readonly TableDef[] = pipelineTables(SHIPPED_JOBS);

/** Every topic of the shipped jobs. */
export const ALL_TOPICS: readonly TopicDef[] = topicsOf(SHIPPED_JOBS);

/** A shipped job by name. */
export function shippedJob(name: string): RegisteredJob & RegisteredJobDescriptor {
  const job = SHIPPED_JOBS.find((j) => j.name === name);
  if (!job) throw new Error(`No shipped job '${name}'`);
  return job;
}
