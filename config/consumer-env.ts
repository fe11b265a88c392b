/**
 * The environment of a job's consumer function: the contract with `lambda/runtime/handler.ts` (`configFromEnv`,
 * config/env.ts). Apart from the CDK code so that the bench can start the deployed bundle with exactly this
 * environment without loading aws-cdk-lib.
 */
import { jobConfigInput, type PipelineConfig } from './index';
import { RUNTIME_ENV } from './env';

export const METRICS_NAMESPACE = 'MicroBatch';

/**
 * The consumers' Lambda memory, MB. Memory sets both the CPU share (one vCPU at 1,769 MB) and, through the Node.js
 * runtime's bootstrap, the V8 heap (semi-space memory/20). Measured with `npm run bench` (the deployed bundle in
 * Lambda-sized processes, 10,000-record batches, issue 12): at 512 MB the handler spent 20.6–23.1 µs of CPU per
 * record, a fifth of it in garbage-collection pauses (5 major collections in 10 batches), at 1024 MB 18.8–19.9 µs.
 * With twice the CPU share that makes a batch 2.3 times faster for the same or a lower cost per record
 * (`microbatch plan --memory`): $0.44 against $0.50 a day at 10,000 records/s.
 */
export const CONSUMER_MEMORY_MB = 1024;

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
