/**
 * Wires the handlers to the local services: the same `runMicroBatch` a Lambda runs, with a client for local
 * Cassandra, fed by the event-source runner with the exact MSK event.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, MSKEvent } from 'aws-lambda';
import type { Client } from 'cassandra-driver';
import { contextKeys, loadConfig, objectGetter, type PipelineConfig } from '../config';
import type { FilterPattern } from '../config/filters';
import { createCassandraClient } from '../lambda/runtime/cassandra-client';
import { CassandraCheckpointStore, CassandraSinkStore } from '../lambda/runtime/cassandra-store';
import { parseMskEvent } from '../lambda/runtime/event';
import { runMicroBatch, type BatchDeps, type BatchReport } from '../lambda/runtime/batch';
import { createJob, type Job } from '../lambda/runtime/job';
import { createLogger, invocationLogger, localInvocationContext, logTo } from '../lambda/runtime/log';
import { JobRegistryError, loadJobs, type RegisteredJob } from '../lambda/runtime/registry';
import type { BatchMode } from '../lambda/runtime/store';
import type { Endpoints } from './services';

export const REPO_ROOT = join(__dirname, '..');

/**
 * The config the cloud uses (cdk.json context), with overrides from `-c key=value` style pairs. One config,
 * so the local runner's knobs are the event source mapping's. An unknown key fails, as in the CDK app.
 */
export function localConfig(
  jobs: readonly RegisteredJob[],
  overrides: Record<string, unknown> = {},
  root = REPO_ROOT,
): PipelineConfig {
  let context: Record<string, unknown> = {};
  try {
    context =
      (JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> })
        .context ?? {};
  } catch {
    // No cdk.json: the typed defaults apply.
  }
  const base = objectGetter(context);
  return loadConfig((key) => (key in overrides ? overrides[key] : base(key)), jobs, [
    ...contextKeys(context, 'cdk.json context'),
    ...Object.keys(overrides).map((key) => ({ key, place: '-c', ours: true })),
  ]);
}

/** The jobs of the project and its config: what every local command starts from. */
export interface LocalProject {
  readonly jobs: readonly RegisteredJob[];
  readonly config: PipelineConfig;
}

export async function loadLocalProject(overrides: Record<string, unknown> = {}): Promise<LocalProject> {
  const jobs = await loadJobs();
  return { jobs, config: localConfig(jobs, overrides) };
}

/**
 * Builds every job from its config once, as `createJob` checks what create() returns against the definition
 * only then: a job file's mistake there is a load error naming the file, for every command, not a stack trace
 * once a runner starts.
 */
export function assertJobsBuild(jobs: readonly RegisteredJob[], config: PipelineConfig): void {
  for (const job of jobs) {
    try {
      jobFor(job, config);
    } catch (cause) {
      throw new JobRegistryError(`${job.entry} failed to load: ${(cause as Error).message}`, { cause });
    }
  }
}

/** The runtime job of a definition, built from its validated config, as the Lambda handler builds it. */
export function jobFor(definition: RegisteredJob, config: PipelineConfig): Job {
  return createJob(definition, config.jobs[definition.name]!);
}

export interface InvokeOptions {
  readonly onReport?: (report: BatchReport) => void;
  /**
   * Where the batch's lines go, each with its batch id and request id.
   * @default - a logger of warnings and errors (the CLI passes its own, with `--json` at INFO)
   */
  readonly logger?: Logger;
  /** `replay` or `redrive`: see `PartitionDeps.mode`. @default 'live' */
  readonly mode?: BatchMode;
  /** The event source has filter criteria: see `PartitionDeps.filters`. */
  readonly filters?: boolean;
  /** `redrive`: where the reader started each `"<topic>-<partition>"` (see `BatchDeps.contiguousFrom`). */
  readonly contiguousFrom?: ReadonlyMap<string, bigint>;
  /** `redrive`: each `"<topic>-<partition>"`'s log start (see `BatchDeps.logStart`). */
  readonly logStart?: ReadonlyMap<string, bigint>;
  /** `redrive`: the event source's filter patterns (see `BatchDeps.matchFilters`). */
  readonly matchFilters?: readonly FilterPattern[];
  /** See `BatchDeps.onCommit`. */
  readonly onCommit?: BatchDeps['onCommit'];
}

export interface LocalRuntime {
  readonly client: Client;
  readonly keyspace: string;
  readonly checkpoints: CassandraCheckpointStore;
  /** Runs one job's handler on an MSK event and a Lambda-like context, exactly as Lambda would send them. */
  invoke(job: Job, event: MSKEvent, options?: InvokeOptions, context?: Context): Promise<BatchReport>;
  /** `invoke` bound to one job and its options, for the event-source runner. */
  invoker(job: Job, options?: InvokeOptions): (event: MSKEvent, context?: Context) => Promise<BatchReport>;
  close(): Promise<void>;
}

export async function openLocalRuntime(endpoints: Endpoints, keyspace: string): Promise<LocalRuntime> {
  const client = await createCassandraClient({
    kind: 'local',
    contactPoints: endpoints.cassandraContactPoints,
    localDataCenter: endpoints.cassandraLocalDataCenter,
  });
  const checkpoints = new CassandraCheckpointStore(client, keyspace);
  const sink = new CassandraSinkStore(client, keyspace);
  const loggers = new Map<string, Logger>();
  const invoke = (
    job: Job,
    event: MSKEvent,
    options?: InvokeOptions,
    context: Context = localInvocationContext(`microbatch-${job.name}`),
  ) => {
    let logger = options?.logger ?? loggers.get(job.name);
    if (!logger)
      loggers.set(
        job.name,
        (logger = createLogger({ serviceName: `microbatch-${job.name}`, logLevel: 'WARN' })),
      );
    const batchId = randomUUID();
    return runMicroBatch(job, parseMskEvent(event), {
      checkpoints,
      sink,
      onReport: options?.onReport,
      batchId,
      log: logTo(invocationLogger(logger, context, batchId)),
      mode: options?.mode,
      filters: options?.filters,
      contiguousFrom: options?.contiguousFrom,
      logStart: options?.logStart,
      matchFilters: options?.matchFilters,
      onCommit: options?.onCommit,
    });
  };
  return {
    client,
    keyspace,
    checkpoints,
    invoke,
    invoker: (job, options) => (event, context) => invoke(job, event, options, context),
    close: () => client.shutdown(),
  };
}
