#!/usr/bin/env node
/**
 * The CDK app: `cdk deploy --all` stands the whole pipeline up, with a consumer for every job in lambda/jobs/.
 * Config comes from `cdk.json` context and `-c key=value` (config/index.ts, docs/cloud.md); an invalid value or
 * an unknown key fails synth naming the key.
 */
import { App } from 'aws-cdk-lib';
import { buildPipeline, configFromContext } from '../lib/app';
import { JobRegistryError, loadJobs } from '../lambda/runtime/registry';
import { ConfigError } from '../config';

async function main(): Promise<void> {
  const app = new App();
  const jobs = await loadJobs();
  buildPipeline(app, configFromContext(app, jobs), jobs, {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION,
  });
  app.synth();
}

main().catch((error: unknown) => {
  // A config or registry mistake is the user's to fix: its message says how, a stack trace would bury it.
  console.error(error instanceof ConfigError || error instanceof JobRegistryError ? error.message : error);
  process.exitCode = 1;
});
