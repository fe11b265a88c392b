/**
 * Builds the pipeline's stacks into a CDK app, from the typed config. `bin/app.ts` calls it with the CDK
 * context; the tests call it with their own.
 */
import { Validations, type App, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  contextKeys,
  loadConfig,
  objectGetter,
  type ContextGetter,
  type PipelineConfig,
  type PresentKey,
} from '../config';
import type { RegisteredJobDescriptor } from '../config/jobs';
import { PROJECT_ROOT } from './functions';
import { PipelineChecks } from './guardrails';
import { stackNames } from './naming';
import { KafkaStack } from './stacks/kafka-stack';
import { KeyspacesStack } from './stacks/keyspaces-stack';
import { NetworkStack } from './stacks/network-stack';
import { PipelineStack } from './stacks/pipeline-stack';

export interface PipelineStacks {
  readonly network: NetworkStack;
  readonly kafka: KafkaStack;
  readonly keyspaces: KeyspacesStack;
  readonly pipeline: PipelineStack;
}

/** Reads config keys from the CDK context: `-c key=value` and `cdk.json`, flat dotted or nested. */
export function contextGetter(scope: Construct): ContextGetter {
  return objectGetter(scope.node.getAllContext());
}

/**
 * The config keys the app's context holds, each with where it was given: `cdk.json` when the project's cdk.json
 * has it, else `-c` (the command line, or cdk.context.json).
 */
export function presentContextKeys(app: App, cdkJson = join(PROJECT_ROOT, 'cdk.json')): PresentKey[] {
  let fromFile: ContextGetter = () => undefined;
  try {
    const parsed = JSON.parse(readFileSync(cdkJson, 'utf8')) as { context?: Record<string, unknown> };
    fromFile = objectGetter(parsed.context ?? {});
  } catch {
    // No cdk.json (a test's own app): every key came from -c.
  }
  return contextKeys(app.node.getAllContext(), '-c').map((p) =>
    fromFile(p.key) === undefined ? p : { key: p.key, place: 'cdk.json context' },
  );
}

/**
 * The config of this app, from its context, for the jobs of the registry. Throws `ConfigError` naming key, value
 * and what is allowed, or the unknown key with the closest known one.
 */
export function configFromContext(app: App, jobs: readonly RegisteredJobDescriptor[]): PipelineConfig {
  return loadConfig(contextGetter(app), jobs, presentContextKeys(app));
}

/**
 * Adds the four stacks of one stage, and registers cdk-nag's AwsSolutions pack and the pipeline's own checks:
 * any unacknowledged finding fails synthesis.
 */
export function buildPipeline(
  app: App,
  config: PipelineConfig,
  jobs: readonly RegisteredJobDescriptor[],
  env?: Environment,
): PipelineStacks {
  const names = stackNames(config.stage);
  const tags = { project: 'kafka-keyspaces-microbatch', stage: config.stage };
  const common = { env, tags };
  const network = new NetworkStack(app, 'Network', {
    ...common,
    stackName: names.network,
    description: 'Micro-batch pipeline: VPC, flow logs, endpoints',
    config,
  });
  const kafka = new KafkaStack(app, 'Kafka', {
    ...common,
    stackName: names.kafka,
    description: `Micro-batch pipeline: MSK ${config.kafka.mode} cluster and topics`,
    config,
    network: network.network,
  });
  const keyspaces = new KeyspacesStack(app, 'Keyspaces', {
    ...common,
    stackName: names.keyspaces,
    description: 'Micro-batch pipeline: Amazon Keyspaces keyspace and tables',
    config,
    jobs,
  });
  const pipeline = new PipelineStack(app, 'Pipeline', {
    ...common,
    stackName: names.pipeline,
    description: 'Micro-batch pipeline: consumers, producer, query, alarms',
    config,
    jobs,
    cluster: kafka.clusterAttributes,
    keyspaces: keyspaces.schema,
    vpc: network.network.vpc,
    vpcSubnets: network.network.subnets,
    endpointSecurityGroup: network.network.endpointSecurityGroup,
  });
  // The consumers name their tables by ARN, and read the cluster from SSM parameters: neither is a
  // CloudFormation reference, so order the stacks by hand.
  pipeline.addStackDependency(keyspaces, 'The consumers read and write the tables');
  pipeline.addStackDependency(
    kafka,
    'The pipeline reads the cluster from the SSM parameters of the Kafka stack',
  );
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new PipelineChecks(app));
  return { network, kafka, keyspaces, pipeline };
}
