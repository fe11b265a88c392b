/**
 * `KafkaTopics`: the pipeline's topics, created by a custom resource that runs kafkajs admin with MSK IAM
 * inside the VPC (`lambda/handlers/topic-admin.ts`).
 *
 * What an update can do: create a missing topic, grow a topic's partitions. What it cannot: shrink a topic or
 * change its replication factor (the deployment fails with the reason). What nothing does: delete a topic.
 * `Delete` is a no-op, so neither `cdk destroy`, nor removing a topic from the config, nor replacing this
 * resource removes a topic or its data (the data goes only with the cluster itself).
 */
import { CustomResource, Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PipelineFunction } from '../functions';
import { TOPIC_NAME } from '../../schema';
import { lockedSecurityGroup } from '../security-groups';
import { BOOTSTRAP_BROKERS_ENV } from '../../config/env';
import type { IKafkaCluster } from './cluster';

export interface TopicProps {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

export interface KafkaTopicsProps {
  readonly cluster: IKafkaCluster;
  readonly topics: readonly TopicProps[];
  readonly vpc: ec2.IVpc;
  /** The subnets of the topic-admin function; they need a route to the brokers and to S3 (gateway endpoint). */
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly logRetention: logs.RetentionDays;
}

export class KafkaTopics extends Construct {
  readonly handler: PipelineFunction;
  readonly resource: CustomResource;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: KafkaTopicsProps) {
    super(scope, id);
    validateTopics(props.topics);

    this.securityGroup = lockedSecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description:
        'Topic-admin custom resource: MSK brokers (9098) and the CloudFormation response URL (S3, 443)',
    });
    // The isolated subnets' only route beyond the VPC is the S3 gateway endpoint, so 443 reaches S3 alone: the
    // pre-signed response URL. The S3 prefix list ID would need a lookup, which would break offline synth.
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'CloudFormation response URL via the S3 gateway endpoint',
    );
    this.securityGroup.connections.allowToDefaultPort(
      props.cluster,
      'Topic-admin custom resource to the brokers',
    );

    this.handler = new PipelineFunction(this, 'Handler', {
      entry: 'lambda/handlers/topic-admin.ts',
      description: 'Creates and grows the Kafka topics of the pipeline (never deletes)',
      logRetention: props.logRetention,
      timeout: Duration.minutes(5),
      memorySize: 256,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [this.securityGroup],
      environment: { [BOOTSTRAP_BROKERS_ENV]: props.cluster.bootstrapBrokers },
    });
    props.cluster.grantTopicAdmin(
      this.handler.role,
      props.topics.map((t) => t.name),
    );

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.handler.function.functionArn,
      resourceType: 'Custom::KafkaTopics',
      properties: {
        Topics: props.topics.map((t) => ({
          Name: t.name,
          Partitions: t.partitions,
          ReplicationFactor: t.replicationFactor,
        })),
      },
    });
    // The handler must reach the brokers before CloudFormation calls it: wait for the rules and the cluster.
    this.resource.node.addDependency(props.cluster, this.securityGroup);
  }
}

function validateTopics(topics: readonly TopicProps[]): void {
  if (topics.length === 0) throw new Error('KafkaTopics topics is empty: list at least one topic.');
  const seen = new Set<string>();
  for (const t of topics) {
    if (!TOPIC_NAME.test(t.name)) {
      throw new Error(
        `KafkaTopics topic name '${t.name}' is not a legal Kafka topic name ([a-zA-Z0-9._-], 1-249).`,
      );
    }
    if (seen.has(t.name)) throw new Error(`KafkaTopics topic '${t.name}' is listed twice.`);
    seen.add(t.name);
    for (const [key, value, max] of [
      ['partitions', t.partitions, 10_000],
      ['replicationFactor', t.replicationFactor, 32],
    ] as const) {
      if (!Token.isUnresolved(value) && (!Number.isInteger(value) || value < 1 || value > max)) {
        throw new Error(
          `KafkaTopics topic '${t.name}' ${key} must be an integer from 1 to ${max}, received ${value}.`,
        );
      }
    }
  }
}
