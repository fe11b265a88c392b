import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../../config';
import { MskCluster, type KafkaClusterAttributes } from '../kafka/cluster';
import { KafkaTopics } from '../kafka/topics';
import type { PipelineNetwork } from '../network';
import { kafkaParameterPrefix, resourceName } from '../naming';

export interface KafkaStackProps extends StackProps {
  readonly config: PipelineConfig;
  readonly network: PipelineNetwork;
}

/** The MSK cluster (provisioned or serverless, per `kafka.mode`) and the topics of the jobs. */
export class KafkaStack extends Stack {
  readonly cluster: MskCluster;
  readonly topics: KafkaTopics;
  /** The cluster for the other stacks: its ARN, UUID and brokers through SSM parameters (docs/cloud.md). */
  readonly clusterAttributes: KafkaClusterAttributes;

  constructor(scope: Construct, id: string, props: KafkaStackProps) {
    super(scope, id, props);
    const { config, network } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    const provisioned = config.kafka.mode === 'provisioned';
    this.cluster = new MskCluster(this, 'Cluster', {
      mode: config.kafka.mode,
      clusterName: resourceName(config.stage, 'microbatch'),
      vpc: network.vpc,
      vpcSubnets: network.subnets,
      logRetention,
      ...(provisioned
        ? {
            kafkaVersion: config.kafka.version,
            brokerInstanceType: config.kafka.brokerInstanceType,
            brokerCount: config.kafka.brokerCount,
            brokerStorageGiB: config.kafka.brokerStorageGiB,
          }
        : {}),
    });
    network.allowEndpointAccessFrom(this.cluster);
    this.clusterAttributes = this.cluster.publishParameters(kafkaParameterPrefix(config.stage));

    this.topics = new KafkaTopics(this, 'Topics', {
      cluster: this.cluster,
      vpc: network.vpc,
      vpcSubnets: network.subnets,
      logRetention,
      // Every topic of every job: the config holds one entry each (config/index.ts).
      topics: Object.entries(config.topics).map(([name, topic]) => ({ name, ...topic })),
    });

    new CfnOutput(this, 'ClusterArn', { value: this.cluster.clusterArn });
    new CfnOutput(this, 'BootstrapBrokers', {
      value: this.cluster.bootstrapBrokers,
      description: 'IAM/TLS bootstrap brokers (reachable from inside the VPC only)',
    });
  }
}
