import { describe, expect, it } from 'vitest';
import { configFromEnv, handlerFor } from '../../../lambda/runtime/handler';
import { EventShapeError, RuntimeConfigError } from '../../../lambda/runtime/errors';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { fixtureEvent } from '../../support/fixtures';

describe('configFromEnv', () => {
  it('reads back the job config the stack serialised, through the same validation', () => {
    const config = configFromEnv({
      MICROBATCH_STAGE: 'prod',
      MICROBATCH_KEYSPACE: 'ks_prod',
      MICROBATCH_JOB: 'sent-received',
      MICROBATCH_JOB_CONFIG: JSON.stringify({
        batchSize: 250,
        maxBatchingWindowSeconds: 2,
        timeFormat: 'iso',
      }),
    });
    expect(config.stage).toBe('prod');
    expect(config.keyspace.name).toBe('ks_prod');
    expect(config.jobs['sent-received']).toMatchObject({
      batchSize: 250,
      maxBatchingWindowSeconds: 2,
      timeFormat: 'iso',
      consumerGroupId: 'prod-sent-received',
    });
  });

  it('fails on a job config that is not JSON, saying where it comes from', () => {
    expect(() => configFromEnv({ MICROBATCH_JOB: 'sent-received', MICROBATCH_JOB_CONFIG: '{oops' })).toThrow(
      RuntimeConfigError,
    );
    expect(() => configFromEnv({ MICROBATCH_JOB: 'sent-received', MICROBATCH_JOB_CONFIG: '{oops' })).toThrow(
      /MICROBATCH_JOB_CONFIG is not JSON/,
    );
  });

  it('fails on an invalid value, naming the key', () => {
    expect(() =>
      configFromEnv({
        MICROBATCH_JOB: 'sensor-stats',
        MICROBATCH_JOB_CONFIG: JSON.stringify({ windowSeconds: 0 }),
      }),
    ).toThrow(/jobs\.sensor-stats\.windowSeconds/);
  });
});

describe('handlerFor', () => {
  it('rejects a malformed event at the boundary, before any connection is made', async () => {
    const handler = handlerFor(createSentReceivedJob({ timeFormat: 'tutorial', failOnDataLoss: false }));
    const event = fixtureEvent('sent-received') as {
      records: Record<string, Array<Record<string, unknown>>>;
    };
    event.records['test-0']![0]!.offset = -1;
    await expect(handler(event)).rejects.toThrow(EventShapeError);
    await expect(handler({ eventSource: 'aws:sqs' })).rejects.toThrow(/eventSource: expected 'aws:kafka'/);
  });
});
