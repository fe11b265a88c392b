/**
 * Builds the pipeline's stacks into a CDK app, from the typed config. `bin/app.ts` calls it with the CDK
 * context; the tests call it with their own.
 */
import { Validations, type App, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { loadConfig, objectGetter, type ContextGetter, type PipelineConfig } from './config';
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

/** The config of this app, from its context. Throws `ConfigError` naming key, value and what is allowed. */
export function configFromContext(app: App): PipelineConfig {
  return loadConfig(contextGetter(app));
}

/**
 * Adds the four stacks of one stage, and registers cdk-nag's AwsSolutions pack and the pipeline's own checks:
 * any unacknowledged finding fails synthesis.
 */
export function buildPipeline(app: App, config: PipelineConfig, env?: Environment): PipelineStacks {
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
  });
  const pipeline = new PipelineStack(app, 'Pipeline', {
    ...common,
    stackName: names.pipeline,
    description: 'Micro-batch pipeline: consumers, producer, query, alarms',
    config,
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
