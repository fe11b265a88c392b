/**
 * `handlerFor(job)`: the Lambda entry point of a job. It checks the `unknown` event at the boundary, builds the
 * Cassandra client once per execution environment (reused across invocations), and hands the typed batch to
 * `runMicroBatch`, the same function the local runner calls.
 */
import type { Context } from 'aws-lambda';
import type { Client } from 'cassandra-driver';
import { contextKeys, loadConfig, objectGetter, type PipelineConfig } from '../../config';
import type { JobDescriptor } from '../../config/jobs';
import { RUNTIME_ENV } from '../../config/env';
import { createJob, jobTables, type Job, type JobDefinition } from './job';
import { parseMskEvent } from './event';
import { runMicroBatch, type BatchReport } from './batch';
import { CassandraCheckpointStore, CassandraSinkStore } from './cassandra-store';
import { connectCassandra, targetFromEnv, waitForKeyspacesTables } from './cassandra-connect';
import { RuntimeConfigError } from './errors';
import { createLogger, withBatchLogging } from './log';
import { emfReporter } from './metrics';
import { JOB_RUNTIME_TABLES } from '../../schema';

/**
 * The config of one job as the stack passed it in the environment (`config/env.ts`): the same `loadConfig` the
 * CDK app ran validates it again, with the job's own descriptor.
 */
export function configFromEnv(
  definition: JobDescriptor,
  env: NodeJS.ProcessEnv = process.env,
): PipelineConfig {
  const job = env[RUNTIME_ENV.job];
  if (job !== undefined && job !== definition.name) {
    throw new RuntimeConfigError(
      `${RUNTIME_ENV.job} is '${job}' but this is the handler of job '${definition.name}': deploy each job's own entry.`,
    );
  }
  let jobConfig: Record<string, unknown> = {};
  const raw = env[RUNTIME_ENV.jobConfig];
  if (raw) {
    try {
      jobConfig = JSON.parse(raw) as Record<string, unknown>;
    } catch (cause) {
      throw new RuntimeConfigError(
        `${RUNTIME_ENV.jobConfig} is not JSON; the stack sets it from the typed config.`,
        {
          cause,
        },
      );
    }
  }
  const context = {
    stage: env[RUNTIME_ENV.stage],
    keyspace: { name: env[RUNTIME_ENV.keyspace] },
    jobs: { [definition.name]: jobConfig },
  };
  return loadConfig(objectGetter(context), [definition], contextKeys(context, RUNTIME_ENV.jobConfig));
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
    const tables = [...jobTables(job), ...JOB_RUNTIME_TABLES].map((t) => t.name);
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

/**
 * The Lambda entry point of a job: the file that declares the job exports it as `handler`.
 *
 * @example
 * ```ts
 * const job = defineJob({ name: 'clicks', ... });
 * export default job;
 * export const handler = handlerFor(job);
 * ```
 */
export function handlerFor(definition: JobDefinition): (event: unknown, context?: Context) => Promise<void> {
  let setup: Promise<{ job: Job; runtime: Runtime; filters: boolean }> | undefined;
  const logger = createLogger({ serviceName: `microbatch-${definition.name}` });
  return (event: unknown, context?: Context) =>
    withBatchLogging(logger, context, async (batchId, log) => {
      const batch = parseMskEvent(event);
      // One config read and one client per execution environment; a failed start is forgotten, so the next
      // invocation tries again.
      setup ??= (async () => {
        const config = configFromEnv(definition);
        const jobConfig = config.jobs[definition.name]!;
        const job = createJob(definition, jobConfig);
        // With filter criteria on its event source mapping, gaps no attempt claimed are filtered records.
        return { job, runtime: await createRuntime(job, config), filters: jobConfig.filters.length > 0 };
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
        batchId,
        log,
        ...(context && { remainingMs: () => context.getRemainingTimeInMillis() }),
      });
    });
}
