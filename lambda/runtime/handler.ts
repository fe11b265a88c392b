/**
 * `handlerFor(job)`: the Lambda entry point of a job. It checks the `unknown` event at the boundary, builds the
 * Cassandra client once per execution environment (reused across invocations), and hands the typed batch to
 * `runMicroBatch`, the same function the local runner calls.
 */
import type { Client } from 'cassandra-driver';
import { loadConfig, objectGetter, type PipelineConfig } from '../../lib/config';
import { jobTables, type Job } from './job';
import { parseMskEvent } from './event';
import { runMicroBatch, type BatchReport } from './batch';
import { CassandraCheckpointStore, CassandraSinkStore } from './cassandra-store';
import { connectCassandra, targetFromEnv, waitForKeyspacesTables } from './cassandra-connect';
import { RuntimeConfigError } from './errors';
import { emfReporter } from './metrics';
import { DEAD_LETTERS, BATCH_LEDGER, OFFSET_CHECKPOINTS, SKIPPED_RANGES, type JobName } from '../../schema';

/** The pipeline config as the stack passed it in the environment (see lib/ for the variables). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): PipelineConfig {
  const job = env.MICROBATCH_JOB;
  let jobConfig: unknown = {};
  if (env.MICROBATCH_JOB_CONFIG) {
    try {
      jobConfig = JSON.parse(env.MICROBATCH_JOB_CONFIG);
    } catch (cause) {
      throw new RuntimeConfigError(
        'MICROBATCH_JOB_CONFIG is not JSON; the stack sets it from the typed config.',
        { cause },
      );
    }
  }
  return loadConfig(
    objectGetter({
      stage: env.MICROBATCH_STAGE,
      keyspace: { name: env.MICROBATCH_KEYSPACE },
      ...(job ? { jobs: { [job]: jobConfig } } : {}),
    }),
  );
}

export interface Runtime {
  readonly client: Client;
  readonly checkpoints: CassandraCheckpointStore;
  readonly sink: CassandraSinkStore;
  readonly onReport: (report: BatchReport) => void;
}

/** The Cassandra client and stores of one execution environment, for the target the environment names. */
export async function createRuntime(job: Job, config: PipelineConfig): Promise<Runtime> {
  const target = targetFromEnv();
  const client = await connectCassandra(target);
  if (target.kind === 'keyspaces') {
    const tables = [...jobTables(job), OFFSET_CHECKPOINTS, SKIPPED_RANGES, BATCH_LEDGER, DEAD_LETTERS].map(
      (t) => t.name,
    );
    await waitForKeyspacesTables(client, config.keyspace.name, tables);
  }
  return {
    client,
    // Reads at LOCAL_QUORUM on Keyspaces, which has no SERIAL reads (checkpointReadConsistency says why).
    checkpoints: new CassandraCheckpointStore(client, config.keyspace.name),
    sink: new CassandraSinkStore(client, config.keyspace.name),
    onReport: process.env.AWS_LAMBDA_FUNCTION_NAME ? emfReporter() : () => undefined,
  };
}

export type JobFactory = (config: PipelineConfig) => Job;

export function handlerFor(jobOrFactory: Job | JobFactory): (event: unknown) => Promise<void> {
  let setup: Promise<{ job: Job; runtime: Runtime; filters: boolean }> | undefined;
  return async (event: unknown) => {
    const batch = parseMskEvent(event);
    // One config read and one client per execution environment; a failed start is forgotten, so the next
    // invocation tries again.
    setup ??= (async () => {
      const config = configFromEnv();
      const job = typeof jobOrFactory === 'function' ? jobOrFactory(config) : jobOrFactory;
      // With filter criteria on its event source mapping, gaps no attempt claimed are filtered records.
      const filters = (config.jobs[job.name as JobName]?.filters.length ?? 0) > 0;
      return { job, runtime: await createRuntime(job, config), filters };
    })().catch((error: unknown) => {
      setup = undefined;
      throw error;
    });
    const { job, runtime, filters } = await setup;
    await runMicroBatch(job, batch, {
      checkpoints: runtime.checkpoints,
      sink: runtime.sink,
      onReport: runtime.onReport,
      filters,
    });
  };
}
