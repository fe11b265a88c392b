import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../../config';
import { consumerEnvironment } from '../../config/consumer-env';
import { QUERY_ENV, RUNTIME_ENV } from '../../config/env';
import { jobViews, type RegisteredJobDescriptor } from '../../config/jobs';
import { JOB_RUNTIME_TABLES, TEST_TOPIC, BATCH_LEDGER } from '../../schema';
import { MicroBatchConsumer } from '../consumer';
import { MskCluster, type KafkaClusterAttributes } from '../kafka/cluster';
import type { KeyspacesSchema } from '../keyspaces';
import { ScheduledProducer } from '../producer';
import { QueryFunction } from '../query';
import { SkippedRangeRedrive } from '../redrive';

export interface PipelineStackProps extends StackProps {
  readonly config: PipelineConfig;
  /** The jobs, from the registry (`loadJobs()` of lambda/runtime/registry.ts): a consumer and a redrive each. */
  readonly jobs: readonly RegisteredJobDescriptor[];
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
/** The query function reads every job through its view (config/jobs.ts): tables, key columns, windows. */
export function queryEnvironment(
  config: PipelineConfig,
  jobs: readonly RegisteredJobDescriptor[],
): Record<string, string> {
  return {
    [RUNTIME_ENV.target]: 'keyspaces',
    [RUNTIME_ENV.keyspace]: config.keyspace.name,
    [RUNTIME_ENV.stage]: config.stage,
    [QUERY_ENV.jobs]: JSON.stringify(jobViews(jobs, (job) => config.jobs[job]!.options)),
    POWERTOOLS_SERVICE_NAME: 'query',
  };
}

/**
 * The consumers and their redrive functions (one each per job), the scheduled producer, the query function, and
 * the alarm topic.
 */
export class PipelineStack extends Stack {
  /** By job name. */
  readonly consumers: Readonly<Record<string, MicroBatchConsumer>>;
  /** By job name. */
  readonly redrives: Readonly<Record<string, SkippedRangeRedrive>>;
  readonly producer: ScheduledProducer | undefined;
  readonly query: QueryFunction;
  readonly alarmTopic: sns.Topic | undefined;
  /** Encrypts the on-failure queues. */
  readonly key: kms.Key;
  /** Encrypts the alarm topic, when there is one (`alarmEmail`). */
  readonly alarmKey: kms.Key | undefined;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config, keyspaces, jobs } = props;
    if (jobs.length === 0)
      throw new Error(
        "PipelineStack jobs is empty: pass the registry's jobs (loadJobs() of lambda/runtime/registry.ts).",
      );
    for (const job of jobs) {
      if (!config.jobs[job.name]) {
        throw new Error(
          `PipelineStack job '${job.name}' has no config: load the config with the same jobs (loadConfig(get, jobs)).`,
        );
      }
    }
    const cluster = MskCluster.fromParameters(this, 'Cluster', props.cluster);
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts the on-failure queues of stage ${config.stage}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });

    if (config.alarmEmail !== undefined) {
      // A key of its own: CloudWatch's service principal must be able to use the alarm topic's key, and the
      // statement the SNS guide gives for it has no condition that scopes it to one account's alarms. On this key
      // it reaches alarm notifications only, never the on-failure queues' records.
      this.alarmKey = new kms.Key(this, 'AlarmKey', {
        description: `Encrypts the alarm topic of stage ${config.stage}`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });
      this.alarmTopic = new sns.Topic(this, 'Alarms', {
        displayName: `Micro-batch pipeline alarms (${config.stage})`,
        masterKey: this.alarmKey,
        enforceSSL: true,
      });
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
      // CloudWatch publishes the alarms to the encrypted topic; SNS then needs the key on its behalf.
      // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
      this.alarmKey.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
        }),
      );
    }

    const consumers: Record<string, MicroBatchConsumer> = {};
    const redrives: Record<string, SkippedRangeRedrive> = {};
    for (const job of jobs) {
      const topics = job.topics.map((t) => t.name);
      const tables = [...job.tables, ...JOB_RUNTIME_TABLES].map((t) => keyspaces.table(t.name));
      const consumer = new MicroBatchConsumer(this, `Consumer-${job.name}`, {
        job: job.name,
        entry: job.entry,
        cluster,
        topics,
        eventSource: config.jobs[job.name]!,
        writeTables: tables,
        environment: consumerEnvironment(config, job.name),
        memorySize: config.jobs[job.name]!.memorySize,
        timeout: Duration.seconds(config.jobs[job.name]!.timeoutSeconds),
        logRetention,
        alarmTopic: this.alarmTopic,
        queueKey: this.key,
      });
      consumers[job.name] = consumer;
      const redrive = new SkippedRangeRedrive(this, `Redrive-${job.name}`, {
        job: job.name,
        jobEntry: job.entry,
        cluster,
        topics,
        consumerGroupId: config.jobs[job.name]!.consumerGroupId,
        queue: consumer.queue,
        queueKey: consumer.queueKey,
        tables,
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
        endpointSecurityGroup: props.endpointSecurityGroup,
        environment: consumerEnvironment(config, job.name),
        logRetention,
        ...(config.redrive.scheduleMinutes
          ? { every: Duration.minutes(config.redrive.scheduleMinutes) }
          : { onDemandOnly: true }),
      });
      redrives[job.name] = redrive;
      new CfnOutput(this, `RedriveFunction-${job.name}`, {
        description: `Invoke on demand to redrive what the event source skipped for ${job.name}`,
        value: redrive.handler.function.functionName,
      });
    }
    this.consumers = consumers;
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
      // Each job's results table (its first) and the ledger; nothing else.
      tables: [...jobs.map((j) => j.tables[0]!), BATCH_LEDGER].map((t) => keyspaces.table(t.name)),
      environment: queryEnvironment(config, jobs),
      logRetention,
    });

    for (const job of jobs) {
      new CfnOutput(this, `Dashboard-${job.name}`, { value: consumers[job.name]!.dashboard.dashboardName });
    }
  }
}
