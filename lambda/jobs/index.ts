/**
 * Every job by name, built from the typed config: what the Lambda entry points, the redrive function and the
 * local runner all use to get a job.
 */
import type { PipelineConfig } from '../../lib/config';
import type { JobName } from '../../schema';
import type { Job } from '../runtime/job';
import { createSensorStatsJob } from './sensor-stats';
import { createSentReceivedJob } from './sent-received';

export function createJob(name: JobName, config: PipelineConfig): Job {
  switch (name) {
    case 'sent-received':
      return createSentReceivedJob(config.jobs['sent-received']);
    case 'sensor-stats':
      return createSensorStatsJob(config.jobs['sensor-stats']);
  }
}
