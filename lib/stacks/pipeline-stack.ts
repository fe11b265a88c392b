import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import {
  BATCH_LEDGER,
  JOB_CATALOG,
  JOB_NAMES,
  RUNTIME_TABLES,
  SENSOR_STATS,
  SENT_RECEIVED,
  TEST_TOPIC,
  type JobName,
} from '../../schema';
import type { PipelineConfig } from '../config';
import { MicroBatchConsumer } from '../consumer';
import { MskCluster, type KafkaClusterAttributes } from '../kafka/cluster';
import type { KeyspacesSchema } from '../keyspaces';
import { ScheduledProducer } from '../producer';
import { QueryFunction } from '../query';
import { SkippedRangeRedrive } from '../redrive';

export interface PipelineStackProps extends StackProps {
  readonly config: PipelineConfig;
  /**
   * The Kafka stack's cluster. Its ARN, UUID and brokers are read from SSM at every deploy of this stack, so a
   * replaced cluster never leaves this stack on the old one after the next deploy (docs/cloud.md); the stack
   * must depend on the Kafka stack.
   */
  readonly cluster: KafkaClusterAttributes;
  readonly keyspaces: KeyspacesSchema;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  /** The security group of the VPC's interface endpoints: the redrive functions reach SQS and Keyspaces there. */
  readonly endpointSecurityGroup: ec2.ISecurityGroup;
}

/** The EMF namespace of the runtime's metrics. */
export const METRICS_NAMESPACE = 'MicroBatch';

/**
 * The handlers' environment, the contract with `lambda/runtime/handler.ts` (`configFromEnv`): the job's own
 * config travels as JSON and is validated again by the same `loadConfig` when the handler starts.
 */
export function consumerEnvironment(config: PipelineConfig, job: JobName): Record<string, string> {
  return {
    MICROBATCH_TARGET: 'keyspaces',
    MICROBATCH_KEYSPACE: config.keyspace.name,
    MICROBATCH_STAGE: config.stage,
    MICROBATCH_JOB: job,
    MICROBATCH_JOB_CONFIG: JSON.stringify(config.jobs[job]),
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_SERVICE_NAME: job,
  };
}

/** The query reads sensor-stats' window spec from its config, through the same `configFromEnv`. */
export function queryEnvironment(config: PipelineConfig): Record<string, string> {
  return {
    MICROBATCH_TARGET: 'keyspaces',
    MICROBATCH_KEYSPACE: config.keyspace.name,
    MICROBATCH_STAGE: config.stage,
    MICROBATCH_JOB: 'sensor-stats',
    MICROBATCH_JOB_CONFIG: JSON.stringify(config.jobs['sensor-stats']),
  };
}

/**
 * The consumers and their redrive functions (one each per job), the scheduled producer, the query function, and
 * the alarm topic.
 */
export class PipelineStack extends Stack {
  readonly consumers: Readonly<Record<JobName, MicroBatchConsumer>>;
  readonly redrives: Readonly<Record<JobName, SkippedRangeRedrive>>;
  readonly producer: ScheduledProducer | undefined;
  readonly query: QueryFunction;
  readonly alarmTopic: sns.Topic | undefined;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config, keyspaces } = props;
    const cluster = MskCluster.fromParameters(this, 'Cluster', props.cluster);
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts the on-failure queues and the alarm topic of stage ${config.stage}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });

    if (config.alarmEmail !== undefined) {
      this.alarmTopic = new sns.Topic(this, 'Alarms', {
        displayName: `Micro-batch pipeline alarms (${config.stage})`,
        masterKey: this.key,
        enforceSSL: true,
      });
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
      // CloudWatch publishes the alarms to the encrypted topic; SNS then needs the key on its behalf.
      // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
        }),
      );
    }

    const consumers = {} as Record<JobName, MicroBatchConsumer>;
    for (const job of JOB_NAMES) {
      const entry = JOB_CATALOG[job];
      consumers[job] = new MicroBatchConsumer(this, `Consumer-${job}`, {
        job,
        entry: entry.handlerEntry,
        cluster,
        topics: entry.topics,
        eventSource: config.jobs[job],
        writeTables: [...entry.sinkTables, ...RUNTIME_TABLES].map((t) => keyspaces.table(t)),
        environment: consumerEnvironment(config, job),
        logRetention,
        alarmTopic: this.alarmTopic,
        queueKey: this.key,
      });
    }
    this.consumers = consumers;

    const redrives = {} as Record<JobName, SkippedRangeRedrive>;
    for (const job of JOB_NAMES) {
      const entry = JOB_CATALOG[job];
      redrives[job] = new SkippedRangeRedrive(this, `Redrive-${job}`, {
        job,
        cluster,
        topics: entry.topics,
        consumerGroupId: config.jobs[job].consumerGroupId,
        queue: consumers[job].queue,
        queueKey: consumers[job].queueKey,
        tables: [...entry.sinkTables, ...RUNTIME_TABLES].map((t) => keyspaces.table(t)),
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
        endpointSecurityGroup: props.endpointSecurityGroup,
        environment: consumerEnvironment(config, job),
        logRetention,
        every: config.redrive.scheduleMinutes ? Duration.minutes(config.redrive.scheduleMinutes) : undefined,
      });
      new CfnOutput(this, `RedriveFunction-${job}`, {
        description: `Invoke on demand to redrive what the event source skipped for ${job}`,
        value: redrives[job].handler.function.functionName,
      });
    }
    this.redrives = redrives;

    this.producer = config.producer.enabled
      ? new ScheduledProducer(this, 'Producer', {
          cluster,
          topic: TEST_TOPIC.name,
          ratePerSecond: config.producer.ratePerSecond,
          vpc: props.vpc,
          vpcSubnets: props.vpcSubnets,
          logRetention,
        })
      : undefined;

    this.query = new QueryFunction(this, 'Query', {
      tables: [SENT_RECEIVED, SENSOR_STATS, BATCH_LEDGER].map((t) => keyspaces.table(t.name)),
      environment: queryEnvironment(config),
      logRetention,
    });

    for (const job of JOB_NAMES) {
      new CfnOutput(this, `Dashboard-${job}`, { value: consumers[job].dashboard.dashboardName });
    }
  }
}
