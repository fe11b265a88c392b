#!/usr/bin/env node
/**
 * The CDK app: `cdk deploy --all` stands the whole pipeline up. Config comes from `cdk.json` context and
 * `-c key=value` (see lib/config.ts and docs/cloud.md); an invalid value fails synth naming key and value.
 */
import { App } from 'aws-cdk-lib';
import { buildPipeline, configFromContext } from '../lib/app';

const app = new App();
buildPipeline(app, configFromContext(app), {
  account: process.env.CDK_DEFAULT_ACCOUNT,
  region: process.env.CDK_DEFAULT_REGION,
});
app.synth();
