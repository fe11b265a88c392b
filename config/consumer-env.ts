/**
 * The environment of a job's consumer function: the contract with `lambda/runtime/handler.ts` (`configFromEnv`,
 * config/env.ts). Apart from the CDK code so that the bench can start the deployed bundle with exactly this
 * environment without loading aws-cdk-lib.
 */
import { jobConfigInput, type PipelineConfig } from './index';
import { RUNTIME_ENV } from './env';

export const METRICS_NAMESPACE = 'MicroBatch';

/**
 * The handlers' environment: the job's own config travels as JSON and is validated again by the same `loadConfig`
 * when the handler starts.
 */
export function consumerEnvironment(config: PipelineConfig, job: string): Record<string, string> {
  return {
    [RUNTIME_ENV.target]: 'keyspaces',
    [RUNTIME_ENV.keyspace]: config.keyspace.name,
    [RUNTIME_ENV.stage]: config.stage,
    [RUNTIME_ENV.job]: job,
    [RUNTIME_ENV.jobConfig]: JSON.stringify(jobConfigInput(config.jobs[job]!)),
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_SERVICE_NAME: job,
  };
}
