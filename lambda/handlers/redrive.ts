/**
 * The redrive function of one job: re-applies, exactly once, the offsets the event source skipped.
 *
 * An EventBridge schedule invokes it (and anyone allowed can invoke it on demand, e.g.
 * `aws lambda invoke --function-name <RedriveFunction> out.json`). Each run:
 * 1. drains the job's on-failure queue: every record's ranges are registered as skipped ranges (see
 *    lambda/runtime/redrive.ts); a record whose ranges are all registered is deleted, one the live job has not
 *    reached yet comes back later, with exponential backoff (its visibility timeout);
 * 2. reads every pending skipped range back from MSK (kafkajs over IAM) and applies it through the job's code in
 *    `redrive` mode, in the same `runMicroBatch` the consumer runs.
 * A failure leaves the ranges pending: the next run (scheduled, or on demand) tries again.
 */
import type { Context } from 'aws-lambda';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Kafka } from 'kafkajs';
import { createLogger, logTo, type LogFn } from '../runtime/log';
import { runMicroBatch } from '../runtime/batch';
import { parseMskEvent, toMskEvent } from '../runtime/event';
import { configFromEnv, createRuntime, type Runtime } from '../runtime/handler';
import { createJob, type Job, type JobDefinition } from '../runtime/job';
import { createMskKafka, MskConfigError, readRegion } from '../runtime/msk-client';
import { environmentCredentials } from '../runtime/aws-credentials';
import {
  kafkaRangeReader,
  OnFailureRecordError,
  parseOnFailureRecord,
  redrivePending,
  registerFailures,
  type RedriveDeps,
  type RedriveSummary,
} from '../runtime/redrive';
import { REDRIVE_ENV, redriveGroupId } from '../../config/env';
import type { FilterPattern } from '../../config/filters';

export interface QueueMessage {
  readonly receiptHandle: string;
  readonly body: string;
  /** How many times SQS has delivered it (ApproximateReceiveCount). */
  readonly receiveCount: number;
}

/** The on-failure queue, as a redrive uses it. */
export interface OnFailureQueue {
  receive(max: number): Promise<QueueMessage[]>;
  delete(message: QueueMessage): Promise<void>;
  /** Makes the message visible again after `seconds`. */
  retryLater(message: QueueMessage, seconds: number): Promise<void>;
}

export interface RedriveRun {
  readonly messages: number;
  readonly registered: number;
  /** Ranges the live job has not reached yet: their messages come back later. */
  readonly waiting: number;
  /** Messages that are not on-failure records; they stay in the queue for a person to look at. */
  readonly malformed: number;
  readonly summary: RedriveSummary;
}

/** Backoff of a message whose range the live job has not reached: 1, 2, 4 ... minutes, at most 12 hours. */
export function retryDelaySeconds(receiveCount: number): number {
  return Math.min(12 * 3600, 60 * 2 ** Math.max(0, receiveCount - 1));
}

export async function runRedrive(
  job: Job,
  deps: {
    readonly queue: OnFailureQueue;
    readonly redrive: RedriveDeps;
    readonly log: (line: Record<string, unknown>) => void;
    /** Milliseconds left before the function must return. @default - no limit */
    readonly remainingMs?: () => number;
  },
): Promise<RedriveRun> {
  let messages = 0;
  let registered = 0;
  let waiting = 0;
  let malformed = 0;
  // Drain while there is time: the redrive itself needs the rest.
  while ((deps.remainingMs?.() ?? Infinity) > 60_000) {
    const batch = await deps.queue.receive(10);
    if (!batch.length) break;
    for (const message of batch) {
      messages++;
      let failures;
      try {
        failures = parseOnFailureRecord(JSON.parse(message.body));
      } catch (error) {
        malformed++;
        deps.log({
          level: 'ERROR',
          message: 'not an on-failure record of a Kafka event source; left in the queue',
          job: job.name,
          error: error instanceof OnFailureRecordError ? error.message : String(error),
        });
        await deps.queue.retryLater(message, 12 * 3600);
        continue;
      }
      const outcomes = await registerFailures(job, failures, deps.redrive);
      registered += outcomes.filter((o) => o.outcome.status === 'registered').length;
      const notYet = outcomes.filter((o) => o.outcome.status === 'waiting').length;
      waiting += notYet;
      if (notYet) await deps.queue.retryLater(message, retryDelaySeconds(message.receiveCount));
      else await deps.queue.delete(message);
    }
  }
  const summary = await redrivePending(job, deps.redrive);
  const run = { messages, registered, waiting, malformed, summary };
  deps.log({
    level: summary.stillPending.length || malformed ? 'WARN' : 'INFO',
    message: 'redrive',
    job: job.name,
    messages,
    registered,
    waiting,
    malformed,
    attempted: summary.attempted,
    redrivenRecords: summary.redrivenRecords,
    lost: summary.lost.toString(),
    stillPending: summary.stillPending.length,
  });
  return run;
}

export function sqsQueue(client: SQSClient, url: string): OnFailureQueue {
  return {
    async receive(max) {
      const out = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 900,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      return (out.Messages ?? []).map((m) => ({
        receiptHandle: m.ReceiptHandle!,
        body: m.Body ?? '',
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
      }));
    },
    async delete(message) {
      await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.receiptHandle }));
    },
    async retryLater(message, seconds) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    },
  };
}

/** A scheduled EventBridge event, or an on-demand invocation with an empty object. */
export function checkRedriveEvent(event: unknown): void {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new TypeError('Invoke the redrive function with an EventBridge scheduled event or with {}.');
  }
}

interface Setup {
  readonly job: Job;
  readonly runtime: Runtime;
  readonly kafka: Kafka;
  readonly queue: OnFailureQueue;
  /** The event source's filter patterns: the redrive reads from Kafka, where what they dropped still is. */
  readonly filterPatterns: readonly FilterPattern[];
  readonly groupId: string;
  readonly batchSize: number;
}

/**
 * The SQS client of the on-failure queue, with the function's region and credentials from the environment: the
 * SDK's default credential chain is never consulted, and stays out of the bundle (lib/functions.ts,
 * BUNDLE_ALIASES).
 */
export function onFailureQueueClient(env: NodeJS.ProcessEnv = process.env): SQSClient {
  return new SQSClient({ region: readRegion(env), credentials: environmentCredentials(env) });
}

async function open(definition: JobDefinition, logger: Logger): Promise<Setup> {
  const config = configFromEnv(definition);
  const jobConfig = config.jobs[definition.name]!;
  const url = process.env[REDRIVE_ENV.queueUrl];
  if (!url) throw new MskConfigError(REDRIVE_ENV.queueUrl, url, "the URL of the job's on-failure queue");
  const job = createJob(definition, jobConfig);
  return {
    job,
    runtime: await createRuntime(job, config),
    kafka: createMskKafka(`microbatch-redrive-${definition.name}`, process.env, logger),
    queue: sqsQueue(onFailureQueueClient(), url),
    filterPatterns: jobConfig.filters,
    groupId: jobConfig.consumerGroupId,
    batchSize: jobConfig.batchSize,
  };
}

/**
 * The redrive function of a job. Its entry file is generated at synth (lib/redrive.ts), one per job:
 * `export const handler = redriveHandlerFor(job)` with the job's definition, so the job file stays the one file
 * that declares the job.
 */
export function redriveHandlerFor(
  definition: JobDefinition,
): (event: unknown, context: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<RedriveRun> {
  let setup: Promise<Setup> | undefined;
  const logger = createLogger({ serviceName: `microbatch-redrive-${definition.name}` });
  return async (event, context) => {
    // The request id on every line, when the context is Lambda's.
    if ('awsRequestId' in context) logger.addContext(context as Context);
    checkRedriveEvent(event);
    setup ??= open(definition, logger).catch((error: unknown) => {
      setup = undefined;
      throw error;
    });
    return redriveOnce(await setup, context, logTo(logger));
  };
}

async function redriveOnce(
  s: Setup,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  log: LogFn,
): Promise<RedriveRun> {
  const admin = s.kafka.admin();
  await admin.connect();
  try {
    return await runRedrive(s.job, {
      queue: s.queue,
      log,
      remainingMs: () => context.getRemainingTimeInMillis(),
      redrive: {
        checkpoints: s.runtime.checkpoints,
        filters: s.filterPatterns.length > 0,
        batchSize: s.batchSize,
        log,
        partitions: async (topic) =>
          (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.map(
            (p) => p.partitionId,
          ),
        read: kafkaRangeReader(s.kafka, () => redriveGroupId(s.groupId), { deleteGroup: false }),
        apply: async (records, contiguousFrom, onCommit, logStart) => {
          const key = `${records[0]!.topic}-${records[0]!.partition}`;
          const event = toMskEvent(records, { eventSourceArn: 'redrive', bootstrapServers: '' });
          await runMicroBatch(s.job, parseMskEvent(event), {
            checkpoints: s.runtime.checkpoints,
            sink: s.runtime.sink,
            onReport: s.runtime.onReport,
            mode: 'redrive',
            filters: s.filterPatterns.length > 0,
            contiguousFrom: new Map([[key, contiguousFrom]]),
            logStart: new Map([[key, logStart]]),
            matchFilters: s.filterPatterns,
            onCommit,
          });
        },
      },
    });
  } finally {
    await admin.disconnect();
  }
}
