/**
 * `microbatch redrive <job>`, locally: registers the ranges of the job's on-failure records
 * (`.local/on-failure/<job>.jsonl`, written by the runner in Lambda's format), then reads every pending skipped
 * range back from Kafka and applies it through the job's handler, exactly once (lambda/runtime/redrive.ts).
 * Handled on-failure records move to `<job>.redriven.jsonl`; those whose range the live job has not reached yet
 * stay for the next run.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from '../lambda/runtime/kafkajs';
import { kafkaLogCreator } from '../lambda/runtime/kafka-log';
import type { EventSourceConfig } from '../config';
import type { FailedRange } from '../lambda/runtime/checkpoint';
import { toMskEvent } from '../lambda/runtime/event';
import type { Job } from '../lambda/runtime/job';
import {
  kafkaRangeReader,
  OnFailureRecordError,
  parseOnFailureRecord,
  redrivePending,
  registerFailures,
  type RedriveSummary,
  type RegisteredFailure,
} from '../lambda/runtime/redrive';
import type { LocalRuntime } from './app';
import { onFailureFile, withKafkaRetry } from './runner';

export interface LocalRedriveResult {
  readonly registered: readonly RegisteredFailure[];
  readonly summary: RedriveSummary;
}

/** The on-failure records of a file, each with the line it came from; a malformed line names itself. */
export async function readOnFailureFile(
  file: string,
): Promise<Array<{ line: string; failures: FailedRange[] }>> {
  if (!existsSync(file)) return [];
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  return lines.map((line, i) => {
    try {
      return { line, failures: parseOnFailureRecord(JSON.parse(line)) };
    } catch (error) {
      const problem = error instanceof OnFailureRecordError ? error.message : `not JSON (${String(error)})`;
      throw new OnFailureRecordError(`${file}:${i + 1}`, problem);
    }
  });
}

export async function redriveLocally(args: {
  readonly job: Job;
  readonly source: EventSourceConfig;
  readonly runtime: LocalRuntime;
  readonly brokers: readonly string[];
  readonly onFailureDir: string;
  readonly log: (line: Record<string, unknown>) => void;
  /** Where the redriven batches log. @default - the local runtime's logger of the job */
  readonly logger?: Logger;
}): Promise<LocalRedriveResult> {
  const { job, source, runtime, log } = args;
  const filters = source.filters.length > 0;
  const file = onFailureFile(args.onFailureDir, job.name);
  const records = await readOnFailureFile(file);
  const registered: RegisteredFailure[] = [];
  const keep: string[] = [];
  const done: string[] = [];
  for (const { line, failures } of records) {
    const outcomes = await registerFailures(job, failures, { checkpoints: runtime.checkpoints, filters });
    registered.push(...outcomes);
    (outcomes.some((o) => o.outcome.status === 'waiting') ? keep : done).push(line);
  }
  if (done.length) {
    await appendFile(join(args.onFailureDir, `${job.name}.redriven.jsonl`), `${done.join('\n')}\n`);
    // Rewritten through a temporary file, so a crash never leaves a half-written list.
    await writeFile(`${file}.tmp`, keep.length ? `${keep.join('\n')}\n` : '');
    await rename(`${file}.tmp`, file);
  }

  const kafka = new Kafka({
    clientId: `microbatch-redrive-${job.name}`,
    brokers: [...args.brokers],
    logLevel: logLevel.ERROR,
    // kafkajs's lines in the job's log shape, as the runner's (README, "Logs").
    ...(args.logger ? { logCreator: kafkaLogCreator(args.logger) } : {}),
  });
  const admin = kafka.admin();
  await withKafkaRetry('connect', () => admin.connect(), log);
  try {
    const summary = await redrivePending(job, {
      checkpoints: runtime.checkpoints,
      filters,
      batchSize: source.batchSize,
      log,
      partitions: async (topic) =>
        (await withKafkaRetry('read the topic', () => admin.fetchTopicOffsets(topic), log)).map(
          (p) => p.partition,
        ),
      // A group per read, deleted after it: locally there is no IAM grant to keep exact.
      read: kafkaRangeReader(kafka, () => `${source.consumerGroupId}-redrive-${randomUUID().slice(0, 8)}`),
      apply: async (records, contiguousFrom, onCommit, logStart) => {
        const event = toMskEvent(records, {
          eventSourceArn: `arn:local:kafka:${args.brokers.join(',')}:redrive`,
          bootstrapServers: args.brokers.join(','),
        });
        const key = `${records[0]!.topic}-${records[0]!.partition}`;
        await runtime.invoke(job, event, {
          mode: 'redrive',
          filters,
          contiguousFrom: new Map([[key, contiguousFrom]]),
          logStart: new Map([[key, logStart]]),
          matchFilters: source.filters,
          onCommit,
          logger: args.logger,
        });
      },
    });
    return { registered, summary };
  } finally {
    await admin.disconnect();
  }
}
