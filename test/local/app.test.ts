/** The local project (local/app.ts): what every command checks of the job files before it starts. */
import { describe, expect, it } from 'vitest';
import { assertJobsBuild, localConfig } from '../../local/app';
import { createSentReceivedJob } from '../../lambda/jobs/sent-received';
import { JobRegistryError, type RegisteredJob } from '../../lambda/runtime/registry';
import { SHIPPED_JOBS, shippedJob } from '../support/jobs';

describe('assertJobsBuild', () => {
  it('GIVEN the shipped jobs THEN builds each', () => {
    expect(() => assertJobsBuild(SHIPPED_JOBS, localConfig(SHIPPED_JOBS))).not.toThrow();
  });

  it('GIVEN a job whose create() reads another topic than it declares THEN a load error naming its file', () => {
    // GIVEN
    const declared = shippedJob('sent-received');
    const mistaken = {
      ...declared,
      create: (config: Parameters<typeof declared.create>[0]) =>
        createSentReceivedJob(config as never, { topics: ['clickz'] }),
    } as RegisteredJob;
    const jobs = [mistaken];

    // WHEN / THEN
    expect(() => assertJobsBuild(jobs, localConfig(jobs))).toThrow(JobRegistryError);
    expect(() => assertJobsBuild(jobs, localConfig(jobs))).toThrow(
      "lambda/jobs/sent-received.ts failed to load: Job 'sent-received': its definition declares topics [test], " +
        'but create() built a job with topics [clickz].',
    );
  });
});
