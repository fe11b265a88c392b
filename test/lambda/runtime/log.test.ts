import { describe, expect, it } from 'vitest';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { runMicroBatch } from '../../../lambda/runtime/batch';
import { parseMskEvent } from '../../../lambda/runtime/event';
import {
  invocationLogger,
  localInvocationContext,
  logTo,
  withBatchLogging,
} from '../../../lambda/runtime/log';
import { fixtureEvent } from '../../support/fixtures';
import { capturedLogger } from '../../support/logger';
import { MemoryCheckpointStore, MemorySinkStore } from '../../support/memory-store';

describe('logTo', () => {
  it('turns a runtime line into a Powertools line: its level and message, the rest as fields, bigints as text', () => {
    const { logger, lines } = capturedLogger('microbatch-sent-received');
    const log = logTo(logger);
    log({ level: 'WARN', message: 'late record', topic: 'test', offset: 12n });
    log({ message: 'no level means INFO' });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'late record',
        service: 'microbatch-sent-received',
        topic: 'test',
        offset: '12',
        timestamp: expect.any(String),
        stream: 'stderr',
      }),
      expect.objectContaining({ level: 'INFO', message: 'no level means INFO', stream: 'stdout' }),
    ]);
  });
});

describe('withBatchLogging', () => {
  it('puts the batch id and the Lambda request id on every line of a real micro-batch, and only there', async () => {
    // GIVEN a logger, a Lambda-like context and a batch with good and bad records
    const { logger, lines } = capturedLogger('microbatch-sent-received');
    const context = localInvocationContext('microbatch-sent-received');
    const job = createSentReceivedJob({ timeFormat: 'tutorial', failOnDataLoss: false });
    const batch = parseMskEvent(fixtureEvent('sent-received-bad-payloads'));
    const deps = { checkpoints: new MemoryCheckpointStore(), sink: new MemorySinkStore() };

    // WHEN the batch runs under withBatchLogging, once and then again (all duplicates)
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      await withBatchLogging(logger, context, (batchId, log) => {
        ids.push(batchId);
        return runMicroBatch(job, batch, { ...deps, batchId, log });
      });
    }
    logger.info('between batches');

    // THEN every line of each batch is JSON with level, message, its batch id and the request id
    const batchLines = lines.slice(0, -1);
    expect(batchLines.length).toBeGreaterThanOrEqual(2);
    for (const line of batchLines) {
      expect(line).toMatchObject({
        level: expect.stringMatching(/^(INFO|WARN|ERROR)$/),
        message: expect.any(String),
        batchId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        function_request_id: context.awsRequestId,
        function_name: 'microbatch-sent-received',
      });
    }
    expect(new Set(batchLines.map((l) => l['batchId']))).toEqual(new Set(ids));
    expect(lines.at(-1)).not.toHaveProperty('batchId');
  });

  it('logs a failed batch as ERROR with its batch id and the error, then lets the event source retry it', async () => {
    const { logger, lines } = capturedLogger();
    const failure = new Error('Cassandra timed out', { cause: new Error('no host') });
    await expect(withBatchLogging(logger, undefined, () => Promise.reject(failure))).rejects.toBe(failure);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'the batch failed; the event source will retry it',
        batchId: expect.any(String),
        error: expect.objectContaining({ name: 'Error', message: 'Cassandra timed out' }),
      }),
    ]);
  });
});

describe('invocationLogger', () => {
  it('keeps the batch ids of batches that run side by side apart', async () => {
    const { logger, lines } = capturedLogger();
    const run = async (batchId: string) => {
      const log = logTo(invocationLogger(logger, localInvocationContext('microbatch-x'), batchId));
      log({ message: 'start', id: batchId });
      await new Promise((resolve) => setTimeout(resolve, 5));
      log({ message: 'end', id: batchId });
    };
    await Promise.all([run('a'), run('b'), run('c')]);
    expect(lines).toHaveLength(6);
    for (const line of lines) expect(line['batchId']).toBe(line['id']);
    expect(new Set(lines.map((l) => l['function_request_id'])).size).toBe(3);
  });
});
