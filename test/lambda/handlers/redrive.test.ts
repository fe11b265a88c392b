import { describe, expect, it } from 'vitest';
import {
  checkRedriveEvent,
  onFailureQueueClient,
  retryDelaySeconds,
  runRedrive,
  type OnFailureQueue,
  type QueueMessage,
} from '../../../lambda/handlers/redrive';
import { processPartition } from '../../../lambda/runtime/checkpoint';
import type { RedriveDeps } from '../../../lambda/runtime/redrive';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { SENT_RECEIVED } from '../../../schema';
import { MemoryCheckpointStore, MemorySinkStore } from '../../support/memory-store';
import { TUTORIAL_T0, tutorialLog } from '../../support/tutorial-log';
import { redriveApply } from '../../support/redrive';

const T0 = TUTORIAL_T0;
const job = createSentReceivedJob({ timeFormat: 'tutorial', failOnDataLoss: false });
const log = tutorialLog(30);

/** The record Lambda sends to an SQS destination, for offsets [first, last] of test-0. */
const onFailure = (first: number, last: number) =>
  JSON.stringify({
    requestContext: {
      requestId: 'r',
      functionArn: 'arn',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 4,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: '2026-05-21T02:21:00.000Z',
    KafkaBatchInfo: {
      batchSize: last - first + 1,
      eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/c/u',
      bootstrapServers: 'b',
      payloadSize: 100,
      recordsInfo: { 'test-0': { firstRecordOffset: String(first), lastRecordOffset: String(last) } },
    },
  });

class FakeQueue implements OnFailureQueue {
  readonly deleted: string[] = [];
  readonly later: Array<[string, number]> = [];
  constructor(private messages: QueueMessage[]) {}
  async receive(max: number) {
    const out = this.messages.slice(0, max);
    this.messages = this.messages.slice(max);
    return out;
  }
  async delete(m: QueueMessage) {
    this.deleted.push(m.receiptHandle);
  }
  async retryLater(m: QueueMessage, seconds: number) {
    this.later.push([m.receiptHandle, seconds]);
  }
}

describe('runRedrive', () => {
  it('registers on-failure records, redrives them once, and leaves for later what it cannot do yet', async () => {
    // GIVEN: the live job applied [0, 5) and stopped; the event source gave up on [5, 9]; a record for offsets
    // the live job has not reached; and a message that is no on-failure record.
    const checkpoints = new MemoryCheckpointStore();
    const sink = new MemorySinkStore();
    const clock = () => new Date(T0 + 3_600_000);
    await processPartition(
      job,
      { topic: 'test', partition: 0, records: log.slice(0, 5) },
      {
        checkpoints,
        sink,
        clock,
        batchId: 'live-1',
        warn: () => undefined,
      },
    );
    const queue = new FakeQueue([
      { receiptHandle: 'gave-up', body: onFailure(5, 9), receiveCount: 1 },
      { receiptHandle: 'ahead', body: onFailure(20, 24), receiveCount: 3 },
      { receiptHandle: 'junk', body: '{"hello":1}', receiveCount: 1 },
    ]);
    const lines: Array<Record<string, unknown>> = [];
    const deps: RedriveDeps = {
      checkpoints,
      partitions: async () => [0],
      read: async (_topic, ranges, onRecords) => {
        for (const [partition, { from, until }] of ranges)
          await onRecords(
            partition,
            log.filter((r) => r.offset >= from && r.offset < until),
            { readUpTo: until, logStart: 0n },
          );
      },
      apply: redriveApply(job, { checkpoints, sink, clock }),
    };

    // WHEN
    const run = await runRedrive(job, { queue, redrive: deps, log: (l) => lines.push(l) });

    // THEN
    expect(run).toMatchObject({ messages: 3, registered: 1, waiting: 1, malformed: 1 });
    expect(run.summary).toMatchObject({ attempted: 1, redrivenRecords: 5, stillPending: [] });
    expect(queue.deleted).toEqual(['gave-up']);
    expect(queue.later).toEqual([
      ['ahead', 240],
      ['junk', 12 * 3600],
    ]);
    expect(sink.rows(SENT_RECEIVED)).toHaveLength(10);
    expect(checkpoints.allSkipped()).toEqual([
      expect.objectContaining({
        fromOffset: 5n,
        untilOffset: 10n,
        status: 'redriven',
        reason: 'RetryAttemptsExhausted',
      }),
    ]);
    expect(lines.find((l) => l.message === 'redrive')).toMatchObject({ level: 'WARN', malformed: 1 });
  });
});

describe('retryDelaySeconds', () => {
  it('doubles from a minute and stops at twelve hours', () => {
    expect([1, 2, 3, 11, 50].map(retryDelaySeconds)).toEqual([60, 120, 240, 12 * 3600, 12 * 3600]);
  });
});

describe('checkRedriveEvent', () => {
  it('takes an object and refuses anything else, saying how to invoke it', () => {
    expect(() => checkRedriveEvent({ source: 'aws.events' })).not.toThrow();
    expect(() => checkRedriveEvent('go')).toThrow(/EventBridge scheduled event or with \{\}/);
  });
});

describe('onFailureQueueClient', () => {
  it("gives the SQS client the function's region and credentials, so the SDK's default chain is never asked", async () => {
    // GIVEN the environment Lambda sets
    const env = {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'ASIA1',
      AWS_SECRET_ACCESS_KEY: 's3cret',
      AWS_SESSION_TOKEN: 'tok',
    };

    // WHEN the redrive builds its queue client
    const client = onFailureQueueClient(env);

    // THEN its region and credentials are those (the bundles stub the default chain: lib/functions.ts)
    expect(await client.config.region()).toBe('eu-west-1');
    expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'ASIA1', sessionToken: 'tok' });
  });
});
