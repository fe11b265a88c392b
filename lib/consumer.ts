/**
 * `MicroBatchConsumer`: one job of the pipeline. A Lambda function fed by an MSK event source mapping per
 * topic, with an on-failure queue, alarms and a dashboard.
 *
 * Not in the VPC: only the event source mapping talks to MSK (through ENIs it creates in the cluster's subnets
 * with the cluster's security group), and the function itself talks to Keyspaces' public TLS endpoint
 * (`cassandra.<region>.amazonaws.com:9142`) and CloudWatch. Outside the VPC it needs no NAT or endpoint for
 * that, and it has no ENI cold start. https://docs.aws.amazon.com/lambda/latest/dg/with-msk-cluster-network.html
 *
 * The event source mapping carries every knob of the job's `EventSourceConfig`. The error-handling ones
 * (retries, record age, bisect, partial batch responses) exist on MSK only with provisioned pollers
 * (https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html); the config refuses them
 * otherwise, and so does this construct.
 *
 * IAM (execution role, which the event source mapping also uses to read MSK with IAM auth):
 * - `kafka-cluster:Connect` on the cluster, `DescribeTopic` + `ReadData` on its topics, `DescribeGroup` +
 *   `AlterGroup` on its consumer groups;
 * - `kafka:DescribeClusterV2` + `kafka:GetBootstrapBrokers` on the cluster, and the ENI actions of
 *   AWSLambdaMSKExecutionRole on `*` (https://docs.aws.amazon.com/lambda/latest/dg/with-msk-permissions.html);
 * - `sqs:SendMessage` on its queue with `kms:Decrypt` + `kms:GenerateDataKey` on the queue's key
 *   (https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html);
 * - `cassandra:Select` + `Modify` on the tables it writes, `Select` on those it reads and on the system tables.
 * ManagedKafkaEventSource would attach AWSLambdaMSKExecutionRole (every cluster, every log group) and
 * `kafka:ListScramSecrets`; the function only sees an immutable view of its role, so it cannot.
 */
import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CONSUMER_MEMORY_MB,
  CONSUMER_TIMEOUT_SECONDS,
  KAFKA_EVENT_SOURCE_MAX_TIMEOUT_SECONDS,
  ON_DEMAND_BEHAVIOUR,
  PROVISIONED_ONLY_KNOBS,
  type EventSourceConfig,
} from '../config';
import { eventSourceGroupIds } from '../config/env';
import { CONSUMER_GROUP_ID, TOPIC_NAME } from '../schema';
import { PipelineFunction } from './functions';
import type { IKafkaCluster } from './kafka/cluster';
import { grantKeyspacesSystemRead, type IKeyspacesTable } from './keyspaces';

export interface MicroBatchConsumerProps {
  /** The job name; it names the metrics' `service` dimension too. */
  readonly job: string;
  /** The handler, relative to the repository root (`JOB_CATALOG[job].handlerEntry`). */
  readonly entry: string;
  readonly cluster: IKafkaCluster;
  /** The topics the job reads; one event source mapping each. */
  readonly topics: readonly string[];
  /** The micro-batch knobs, as the typed config gives them. */
  readonly eventSource: EventSourceConfig;
  /** The tables the job writes (and reads back): `cassandra:Select` and `cassandra:Modify`. */
  readonly writeTables: readonly IKeyspacesTable[];
  readonly logRetention: logs.RetentionDays;
  /** The handler's environment (the runtime's `MICROBATCH_*` contract). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Tables the job only reads: `cassandra:Select`.
   *
   * @default - none
   */
  readonly readTables?: readonly IKeyspacesTable[];
  /**
   * Where the alarms notify.
   *
   * @default - the alarms change state without notifying anyone
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The customer managed key of the on-failure queue.
   *
   * @default - a new key with yearly rotation
   */
  readonly queueKey?: kms.IKey;
  /**
   * The OffsetLag (records behind, per topic) that raises the lag alarm when it lasts 5 minutes.
   *
   * @default 10000
   */
  readonly offsetLagThreshold?: number;
  /**
   * The function's memory, MB: also its CPU share and its V8 heap.
   *
   * @default CONSUMER_MEMORY_MB - 1024, measured against 512 (config/index.ts)
   */
  readonly memorySize?: number;
  /**
   * At most 14 minutes: the limit of functions behind a Kafka event source mapping. The local runner gives up on
   * an invocation after the same time (`jobs.<job>.timeoutSeconds`).
   *
   * @default CONSUMER_TIMEOUT_SECONDS - 5 minutes
   */
  readonly timeout?: Duration;
}

export class MicroBatchConsumer extends Construct {
  readonly handler: PipelineFunction;
  readonly queue: sqs.Queue;
  readonly queueKey: kms.IKey;
  readonly eventSources: readonly sources.ManagedKafkaEventSource[];
  readonly alarms: {
    readonly offsetLag: cloudwatch.Alarm;
    readonly errors: cloudwatch.Alarm;
    readonly throttles: cloudwatch.Alarm;
    readonly queueDepth: cloudwatch.Alarm;
    readonly skipped: cloudwatch.Alarm;
  };
  readonly dashboard: cloudwatch.Dashboard;
  /** The consumer group of each topic's event source mapping. */
  readonly consumerGroups: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: MicroBatchConsumerProps) {
    super(scope, id);
    validate(props);
    const es = props.eventSource;
    const timeout = props.timeout ?? Duration.seconds(CONSUMER_TIMEOUT_SECONDS);

    // One group per event source mapping: Lambda requires the IDs to be unique among its Kafka ESMs.
    this.consumerGroups = eventSourceGroupIds(es.consumerGroupId, props.topics);

    this.handler = new PipelineFunction(this, 'Handler', {
      entry: props.entry,
      description: `Micro-batch consumer of job ${props.job}`,
      logRetention: props.logRetention,
      memorySize: props.memorySize ?? CONSUMER_MEMORY_MB,
      timeout,
      environment: props.environment,
    });
    const role = this.handler.role;

    this.queueKey =
      props.queueKey ??
      new kms.Key(this, 'QueueKey', {
        description: `Encrypts the on-failure queue of job ${props.job}`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });
    this.queue = new sqs.Queue(this, 'OnFailure', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      // Reusing a data key for 5 minutes keeps the KMS calls (and their cost) low.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // The queue is itself the dead-letter store of the event source mapping: a queue behind it would only
    // move the same records once more.
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the on-failure destination (the dead-letter store) of the event source mapping.',
    });
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.queue.queueArn],
    });
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resourceArns: [this.queueKey.keyArn],
    });

    props.cluster.grantConsume(role, props.topics, Object.values(this.consumerGroups));
    props.cluster.grantEventSourceMapping(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'The MSK event source mapping creates and manages its ENIs with the execution role. Its ec2:Describe* ' +
        'actions have no resource-level scoping; ec2:CreateNetworkInterface and ec2:DeleteNetworkInterface have ' +
        'some, but AWS documents them on * (AWSLambdaMSKExecutionRole), and no narrower scope that the ' +
        "service's ENI management keeps working with (https://docs.aws.amazon.com/lambda/latest/dg/with-msk-permissions.html).",
    });
    for (const table of props.writeTables) table.grantReadWriteData(role);
    for (const table of props.readTables ?? []) table.grantReadData(role);
    // Includes system_schema_mcs.tables, where the runtime reads whether its tables are ACTIVE.
    grantKeyspacesSystemRead(this, role);

    const provisioned = es.provisionedPollers;
    this.eventSources = props.topics.map((topic) => {
      const source = new sources.ManagedKafkaEventSource({
        clusterArn: props.cluster.clusterArn,
        topic,
        consumerGroupId: this.consumerGroups[topic],
        startingPosition: lambda.StartingPosition[es.startingPosition],
        startingPositionTimestamp: es.startingPositionTimestamp,
        batchSize: es.batchSize,
        maxBatchingWindow: Duration.seconds(es.maxBatchingWindowSeconds),
        onFailure: new sources.SqsDlq(this.queue),
        // The checkpoint counts the offsets these drop as filtered, not skipped (lambda/runtime/checkpoint.ts).
        filters: es.filters.length
          ? es.filters.map((pattern) => lambda.FilterCriteria.filter(pattern as Record<string, unknown>))
          : undefined,
        ...(provisioned
          ? {
              provisionedPollerConfig: {
                minimumPollers: provisioned.minimumPollers,
                maximumPollers: provisioned.maximumPollers,
              },
              // -1 (infinite) is Lambda's default and cannot be written as a value in CDK.
              retryAttempts: es.retryAttempts === -1 ? undefined : es.retryAttempts,
              maxRecordAge:
                es.maxRecordAgeSeconds === -1 ? undefined : Duration.seconds(es.maxRecordAgeSeconds),
              bisectBatchOnError: es.bisectBatchOnError,
              reportBatchItemFailures: es.reportBatchItemFailures,
            }
          : {}),
      });
      this.handler.function.addEventSource(source);
      return source;
    });

    this.alarms = this.createAlarms(props);
    this.dashboard = this.createDashboard(props);
  }

  private createAlarms(props: MicroBatchConsumerProps): MicroBatchConsumer['alarms'] {
    const fn = this.handler.function;
    // OffsetLag: records between the newest in the topic and the newest the consumer group processed.
    // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
    const offsetLag = new cloudwatch.Alarm(this, 'OffsetLagAlarm', {
      alarmDescription: `Job ${props.job} is falling behind its topics (OffsetLag)`,
      metric: this.metricOffsetLag(),
      threshold: props.offsetLagThreshold ?? 10_000,
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const errors = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: `Job ${props.job}: the handler failed a batch (it is retried)`,
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const throttles = new cloudwatch.Alarm(this, 'ThrottlesAlarm', {
      alarmDescription: `Job ${props.job}: invocations were throttled`,
      metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const queueDepth = new cloudwatch.Alarm(this, 'OnFailureDepthAlarm', {
      alarmDescription: `Job ${props.job}: batches reached the on-failure queue`,
      metric: this.queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Offsets the event source skipped wait in skipped_ranges for the redrive function: say so at once.
    const skipped = new cloudwatch.Alarm(this, 'SkippedOffsetsAlarm', {
      alarmDescription: `Job ${props.job}: the event source skipped offsets; they wait for the redrive (microbatch redrive)`,
      metric: this.emfMetric(props, 'SkippedOffsets', cloudwatch.Stats.SUM, Duration.minutes(5)),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      const action = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of [offsetLag, errors, throttles, queueDepth, skipped]) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
    return { offsetLag, errors, throttles, queueDepth, skipped };
  }

  /** The function's OffsetLag, the largest over its topics. */
  metricOffsetLag(): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: 'OffsetLag',
      dimensionsMap: { FunctionName: this.handler.function.functionName },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
    });
  }

  /** One of the runtime's EMF metrics (lambda/runtime/metrics.ts): namespace MicroBatch, dimensions service + job. */
  private emfMetric(
    props: MicroBatchConsumerProps,
    metricName: string,
    statistic: string = cloudwatch.Stats.SUM,
    period = Duration.minutes(1),
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: props.environment['POWERTOOLS_METRICS_NAMESPACE'] ?? 'MicroBatch',
      metricName,
      dimensionsMap: { service: props.environment['POWERTOOLS_SERVICE_NAME'] ?? props.job, job: props.job },
      statistic,
      period,
    });
  }

  private createDashboard(props: MicroBatchConsumerProps): cloudwatch.Dashboard {
    const fn = this.handler.function;
    const emf = (metricName: string, statistic: string = cloudwatch.Stats.SUM) =>
      this.emfMetric(props, metricName, statistic);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Records',
        left: [
          emf('RecordsIn'),
          emf('RecordsWritten'),
          emf('Duplicates'),
          emf('DeadLettered'),
          emf('Late'),
          emf('SkippedOffsets'),
          emf('FilteredOffsets'),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lag',
        left: [this.metricOffsetLag()],
        right: [emf('WatermarkDelay', cloudwatch.Stats.MAXIMUM)],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Invocations',
        left: [fn.metricInvocations(), fn.metricErrors(), fn.metricThrottles()],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Duration and record latency',
        left: [
          fn.metricDuration({ statistic: cloudwatch.Stats.p(99) }),
          emf('BatchDuration', cloudwatch.Stats.p(99)),
        ],
        // From the records' Kafka timestamps to the batch's end: the newest's is about the processing delay,
        // the oldest's adds the batching window, so they get an axis of their own.
        right: [
          emf('NewestRecordLatency', cloudwatch.Stats.p(99)),
          emf('OldestRecordLatency', cloudwatch.Stats.MAXIMUM),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'On-failure queue',
        left: [this.queue.metricApproximateNumberOfMessagesVisible()],
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: Object.values(this.alarms),
        width: 24,
      }),
    );
    return dashboard;
  }
}

function validate(props: MicroBatchConsumerProps): void {
  const es = props.eventSource;
  const fail = (prop: string, value: unknown, fix: string): never => {
    throw new Error(`MicroBatchConsumer ${prop} is ${JSON.stringify(value)}: ${fix}`);
  };
  if (props.topics.length === 0) fail('topics', props.topics, 'name at least one topic.');
  for (const t of props.topics) {
    if (!TOPIC_NAME.test(t)) fail('topics', t, 'use a legal Kafka topic name ([a-zA-Z0-9._-], 1-249).');
  }
  if (props.writeTables.length === 0) fail('writeTables', [], 'a job writes at least its checkpoints.');
  if (!CONSUMER_GROUP_ID.test(es.consumerGroupId)) {
    fail('eventSource.consumerGroupId', es.consumerGroupId, 'use 1-200 of [a-zA-Z0-9-/*:_+=.@].');
  }
  if (!Token.isUnresolved(es.batchSize) && (es.batchSize < 1 || es.batchSize > 10_000)) {
    fail('eventSource.batchSize', es.batchSize, 'use 1 to 10000 (the MSK event source limit).');
  }
  if (
    !Token.isUnresolved(es.maxBatchingWindowSeconds) &&
    (es.maxBatchingWindowSeconds < 0 || es.maxBatchingWindowSeconds > 300)
  ) {
    fail('eventSource.maxBatchingWindowSeconds', es.maxBatchingWindowSeconds, 'use 0 to 300 seconds.');
  }
  // ManagedKafkaEventSource only warns about these two; a wrong starting position must not deploy.
  if (es.startingPosition === 'AT_TIMESTAMP' && es.startingPositionTimestamp === undefined) {
    fail(
      'eventSource.startingPositionTimestamp',
      undefined,
      'AT_TIMESTAMP needs a timestamp in epoch seconds.',
    );
  }
  // Lambda refuses a starting position in the future, and ManagedKafkaEventSource takes 0 for no timestamp at all.
  // https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
  const ts = es.startingPositionTimestamp;
  if (ts !== undefined && !Token.isUnresolved(ts) && (ts < 1 || ts > Date.now() / 1000)) {
    fail(
      'eventSource.startingPositionTimestamp',
      ts,
      `use epoch seconds from 1 to now (${Math.floor(Date.now() / 1000)}): Lambda refuses a starting position in the future.`,
    );
  }
  if (es.startingPosition !== 'AT_TIMESTAMP' && es.startingPositionTimestamp !== undefined) {
    fail(
      'eventSource.startingPositionTimestamp',
      es.startingPositionTimestamp,
      `remove it, or set startingPosition to AT_TIMESTAMP (it is ${es.startingPosition}).`,
    );
  }
  if (es.provisionedPollers === undefined) {
    for (const key of PROVISIONED_ONLY_KNOBS) {
      const value = ON_DEMAND_BEHAVIOUR[key];
      if (es[key] !== value) {
        fail(
          `eventSource.${key}`,
          es[key],
          `MSK event sources support it only with provisioned pollers; set eventSource.provisionedPollers, or ${value}.`,
        );
      }
    }
  }
  const timeout = props.timeout;
  if (
    timeout &&
    !Token.isUnresolved(timeout.toSeconds()) &&
    timeout.toSeconds() > KAFKA_EVENT_SOURCE_MAX_TIMEOUT_SECONDS
  ) {
    fail(
      'timeout',
      timeout.toHumanString(),
      'functions behind a Kafka event source mapping may run 14 minutes at most.',
    );
  }
}
