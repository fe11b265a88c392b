import { describe, expect, it } from 'vitest';
import { jobConfigInput, loadConfig, objectGetter } from '../../../config';
import { configFromEnv, handlerFor } from '../../../lambda/runtime/handler';
import { EventShapeError, RuntimeConfigError } from '../../../lambda/runtime/errors';
import sentReceived from '../../../lambda/jobs/sent-received';
import sensorStats from '../../../lambda/jobs/sensor-stats';
import { fixtureEvent } from '../../support/fixtures';

describe('configFromEnv', () => {
  it('reads back the job config the stack serialised, through the same validation', () => {
    const config = configFromEnv(sentReceived, {
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
      options: { timeFormat: 'iso' },
      consumerGroupId: 'prod-sent-received',
    });
  });

  it('reads back exactly what the stack wrote: jobConfigInput of the validated config', () => {
    // GIVEN a config as the CDK app validated it
    const validated = loadConfig(objectGetter({ 'jobs.sensor-stats.windowSeconds': '30' }), [sensorStats]);

    // WHEN the stack's JSON is read back by the handler
    const config = configFromEnv(sensorStats, {
      MICROBATCH_JOB: 'sensor-stats',
      MICROBATCH_JOB_CONFIG: JSON.stringify(jobConfigInput(validated.jobs['sensor-stats']!)),
    });

    // THEN the job config is the same
    expect(config.jobs['sensor-stats']).toEqual(validated.jobs['sensor-stats']);
  });

  it("refuses the environment of another job: each job's handler is its own entry", () => {
    expect(() => configFromEnv(sentReceived, { MICROBATCH_JOB: 'sensor-stats' })).toThrow(
      /MICROBATCH_JOB is 'sensor-stats' but this is the handler of job 'sent-received'/,
    );
  });

  it('refuses an unknown key in the job config, with the closest known one', () => {
    expect(() =>
      configFromEnv(sentReceived, {
        MICROBATCH_JOB: 'sent-received',
        MICROBATCH_JOB_CONFIG: JSON.stringify({ batchsize: 5 }),
      }),
    ).toThrow(
      /Unknown config key 'jobs.sent-received.batchsize' \(given in MICROBATCH_JOB_CONFIG\): did you mean 'jobs.sent-received.batchSize'\?/,
    );
  });

  it('fails on a job config that is not JSON, saying where it comes from', () => {
    expect(() =>
      configFromEnv(sentReceived, { MICROBATCH_JOB: 'sent-received', MICROBATCH_JOB_CONFIG: '{oops' }),
    ).toThrow(RuntimeConfigError);
    expect(() =>
      configFromEnv(sentReceived, { MICROBATCH_JOB: 'sent-received', MICROBATCH_JOB_CONFIG: '{oops' }),
    ).toThrow(/MICROBATCH_JOB_CONFIG is not JSON/);
  });

  it('fails on an invalid value, naming the key', () => {
    expect(() =>
      configFromEnv(sensorStats, {
        MICROBATCH_JOB: 'sensor-stats',
        MICROBATCH_JOB_CONFIG: JSON.stringify({ windowSeconds: 0 }),
      }),
    ).toThrow(/jobs\.sensor-stats\.windowSeconds/);
  });
});

describe('handlerFor', () => {
  it('rejects a malformed event at the boundary, before any connection is made', async () => {
    const handler = handlerFor(sentReceived);
    const event = fixtureEvent('sent-received') as {
      records: Record<string, Array<Record<string, unknown>>>;
    };
    event.records['test-0']![0]!.offset = -1;
    await expect(handler(event)).rejects.toThrow(EventShapeError);
    await expect(handler({ eventSource: 'aws:sqs' })).rejects.toThrow(/eventSource: expected 'aws:kafka'/);
  });
});
