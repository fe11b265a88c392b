import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { JOB_RUNTIME_TABLES } from '../../schema';
import { jobConfigInput, loadConfig, objectGetter, type EventSourceConfig } from '../../config';
import { CONSUMER_MEMORY_MB, CONSUMER_TIMEOUT_SECONDS } from '../../config';
import { MicroBatchConsumer, type MicroBatchConsumerProps } from '../../lib/consumer';
import { MskCluster } from '../../lib/kafka/cluster';
import { KEYSPACES_SYSTEM_TABLES, KeyspacesSchema } from '../../lib/keyspaces';
import {
  expectTemplate,
  CDK_CONTEXT,
  actionsOf,
  keyspacesTableArn,
  logicalId,
  mskResourceArn,
  ssmParameterRef,
  resourcesFor,
  roleStatements,
  synthPipeline,
  ALL_TABLES,
  JOB_NAMES,
  shippedJob,
  type Statement,
  type TestPipeline,
} from './support';

/** `Consumer-sent-received` becomes logical IDs starting with `Consumersentreceived`. */
const idPrefix = (job: string) => `Consumer${job.replace(/-/g, '')}`;

function esmOf(template: Template, job: string): { Properties: Record<string, unknown> } {
  const id = logicalId(template, 'AWS::Lambda::EventSourceMapping', `${idPrefix(job)}Handler`);
  return template.toJSON()['Resources'][id];
}

function consumerStatements(template: Template, job: string): Statement[] {
  return roleStatements(template, `${idPrefix(job)}HandlerRole`);
}

describe('MicroBatchConsumer with the default config', () => {
  let t: TestPipeline;
  let pipeline: Template;
  beforeAll(() => {
    t = synthPipeline();
    pipeline = t.templates.pipeline;
  });

  it.each(JOB_NAMES)(
    'maps %s to its topics with the config batch size, window and starting position',
    (job) => {
      // GIVEN the typed config and the job catalog
      const es = t.config.jobs[job]!;

      // THEN one event source mapping per topic carries the knobs
      for (const { name: topic } of shippedJob(job).topics) {
        expectTemplate(pipeline).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          Topics: [topic],
          BatchSize: es.batchSize,
          MaximumBatchingWindowInSeconds: es.maxBatchingWindowSeconds,
          StartingPosition: es.startingPosition,
          StartingPositionTimestamp: Match.absent(),
          AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: es.consumerGroupId },
          FunctionName: { Ref: logicalId(pipeline, 'AWS::Lambda::Function', `${idPrefix(job)}Handler`) },
        });
      }
    },
  );

  it.each(JOB_NAMES)('sends the failed batches of %s to its own queue', (job) => {
    const queue = logicalId(pipeline, 'AWS::SQS::Queue', `${idPrefix(job)}OnFailure`);
    expect(esmOf(pipeline, job).Properties['DestinationConfig']).toEqual({
      OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } },
    });
  });

  it('leaves out the knobs MSK supports only with provisioned pollers', () => {
    expectTemplate(pipeline).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ProvisionedPollerConfig: Match.absent(),
      MaximumRetryAttempts: Match.absent(),
      MaximumRecordAgeInSeconds: Match.absent(),
      BisectBatchOnFunctionError: Match.absent(),
      FunctionResponseTypes: Match.absent(),
    });
  });

  it('reads the cluster of the Kafka stack from its SSM parameter at deploy time', () => {
    const arn = esmOf(pipeline, 'sent-received').Properties['EventSourceArn'];
    expect(arn).toEqual(ssmParameterRef(pipeline, '/microbatch/dev/kafka/cluster-arn'));
  });

  it('encrypts the queues with the customer managed key', () => {
    const key = logicalId(pipeline, 'AWS::KMS::Key', 'Key');
    expectTemplate(pipeline).hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] },
    });
    expectTemplate(pipeline).hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('refuses requests to the queues that do not use TLS', () => {
    expectTemplate(pipeline).hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('runs the handlers on Node.js 24 and arm64, outside the VPC', () => {
    for (const job of JOB_NAMES) {
      const id = logicalId(pipeline, 'AWS::Lambda::Function', `${idPrefix(job)}Handler`);
      expect(pipeline.toJSON()['Resources'][id]['Properties']).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
      });
      expect(pipeline.toJSON()['Resources'][id]['Properties']['VpcConfig']).toBeUndefined();
    }
  });

  it('gives every consumer CONSUMER_MEMORY_MB (1024 MB): measured faster than 512 MB at the same cost', () => {
    expect(CONSUMER_MEMORY_MB).toBe(1024);
    for (const job of JOB_NAMES) {
      const id = logicalId(pipeline, 'AWS::Lambda::Function', `${idPrefix(job)}Handler`);
      expect(pipeline.toJSON()['Resources'][id]['Properties']['MemorySize']).toBe(CONSUMER_MEMORY_MB);
    }
  });

  it.each(JOB_NAMES)('gives %s the runtime contract environment', (job) => {
    expectTemplate(pipeline).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          MICROBATCH_TARGET: 'keyspaces',
          MICROBATCH_KEYSPACE: t.config.keyspace.name,
          MICROBATCH_JOB: job,
          MICROBATCH_JOB_CONFIG: JSON.stringify(jobConfigInput(t.config.jobs[job]!)),
          MICROBATCH_STAGE: t.config.stage,
          POWERTOOLS_METRICS_NAMESPACE: 'MicroBatch',
          POWERTOOLS_SERVICE_NAME: job,
        },
      },
    });
  });

  it('writes logs to its own log group with the configured retention', () => {
    const fn = logicalId(pipeline, 'AWS::Lambda::Function', 'ConsumersentreceivedHandler');
    const logs = logicalId(pipeline, 'AWS::Logs::LogGroup', 'ConsumersentreceivedHandlerLogs');
    expect(pipeline.toJSON()['Resources'][fn]['Properties']['LoggingConfig']).toEqual({
      LogGroup: { Ref: logs },
    });
    expectTemplate(pipeline).hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: t.config.logRetentionDays,
    });
  });

  describe('IAM', () => {
    it.each(JOB_NAMES)('lets %s consume exactly its own cluster, topics and consumer group', (job) => {
      // GIVEN
      const statements = consumerStatements(pipeline, job);
      const cluster = esmOf(pipeline, job).Properties['EventSourceArn'];
      const uuid = ssmParameterRef(pipeline, '/microbatch/dev/kafka/cluster-uuid');
      const topics = shippedJob(job).topics.map((topic) => mskResourceArn(uuid, 'topic', topic.name));
      const group = mskResourceArn(uuid, 'group', t.config.jobs[job]!.consumerGroupId);

      // THEN
      expect(resourcesFor(statements, 'kafka-cluster:Connect')).toEqual([cluster]);
      expect(resourcesFor(statements, 'kafka-cluster:DescribeTopic')).toEqual(topics);
      expect(resourcesFor(statements, 'kafka-cluster:ReadData')).toEqual(topics);
      expect(resourcesFor(statements, 'kafka-cluster:DescribeGroup')).toEqual([group]);
      expect(resourcesFor(statements, 'kafka-cluster:AlterGroup')).toEqual([group]);
    });

    it('lets the event source mapping describe the cluster, its dynamic configuration and its bootstrap brokers', () => {
      const statements = consumerStatements(pipeline, 'sent-received');
      const cluster = esmOf(pipeline, 'sent-received').Properties['EventSourceArn'];
      expect(resourcesFor(statements, 'kafka:DescribeClusterV2')).toEqual([cluster]);
      expect(resourcesFor(statements, 'kafka:GetBootstrapBrokers')).toEqual([cluster]);
      expect(resourcesFor(statements, 'kafka-cluster:DescribeClusterDynamicConfiguration')).toEqual([
        cluster,
      ]);
    });

    it('lets the event source mapping manage its ENIs, the only statement on *', () => {
      // GIVEN
      const statements = consumerStatements(pipeline, 'sent-received');

      // THEN
      const wildcard = statements.filter((s) => s.Resource === '*');
      expect(wildcard.map(actionsOf)).toEqual([
        [
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeSubnets',
          'ec2:DescribeVpcs',
        ],
      ]);
    });

    it.each(JOB_NAMES)('lets %s read and write exactly its sink and runtime tables', (job) => {
      // GIVEN the tables the catalog says the job writes
      const tables = [...shippedJob(job).tables, ...JOB_RUNTIME_TABLES]
        .map((table) => keyspacesTableArn(t.config.keyspace.name, table.name))
        .sort();
      const statements = consumerStatements(pipeline, job);

      // THEN
      expect((resourcesFor(statements, 'cassandra:Modify') as string[]).sort()).toEqual(tables);
      const selects = resourcesFor(statements, 'cassandra:Select') as string[];
      expect(selects.filter((r) => r.includes(`/keyspace/${t.config.keyspace.name}/`)).sort()).toEqual(
        tables,
      );
    });

    it('lets the consumers read the system tables the driver and GetTable read, by exact ARN', () => {
      // GIVEN
      const expected = Object.entries(KEYSPACES_SYSTEM_TABLES).flatMap(([ks, tables]) => [
        keyspacesTableArn(ks),
        ...tables.map((table) => keyspacesTableArn(ks, table)),
      ]);
      const selects = resourcesFor(
        consumerStatements(pipeline, 'sent-received'),
        'cassandra:Select',
      ) as string[];

      // THEN
      expect(selects.filter((r) => r.includes('/keyspace/system')).sort()).toEqual(expected.sort());
      expect(selects).toEqual(
        expect.arrayContaining([keyspacesTableArn('system', 'local'), keyspacesTableArn('system', 'peers')]),
      );
      expect(selects.some((r) => r.includes('*'))).toBe(false);
    });

    it('lets the event source mapping send to its queue with the queue key', () => {
      const statements = consumerStatements(pipeline, 'sent-received');
      const queue = logicalId(pipeline, 'AWS::SQS::Queue', 'ConsumersentreceivedOnFailure');
      const key = logicalId(pipeline, 'AWS::KMS::Key', 'Key');
      expect(resourcesFor(statements, 'sqs:SendMessage')).toEqual([{ 'Fn::GetAtt': [queue, 'Arn'] }]);
      expect(resourcesFor(statements, 'kms:GenerateDataKey')).toEqual([{ 'Fn::GetAtt': [key, 'Arn'] }]);
      expect(resourcesFor(statements, 'kms:Decrypt')).toEqual([{ 'Fn::GetAtt': [key, 'Arn'] }]);
    });

    it('grants exactly the actions listed above, none with a wildcard', () => {
      const actions = new Set(consumerStatements(pipeline, 'sensor-stats').flatMap(actionsOf));
      expect([...actions].sort()).toEqual(
        [
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'sqs:SendMessage',
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'kafka-cluster:Connect',
          'kafka-cluster:DescribeTopic',
          'kafka-cluster:ReadData',
          'kafka-cluster:DescribeGroup',
          'kafka-cluster:AlterGroup',
          'kafka-cluster:DescribeClusterDynamicConfiguration',
          'kafka:DescribeClusterV2',
          'kafka:GetBootstrapBrokers',
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeVpcs',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeSubnets',
          'ec2:DescribeSecurityGroups',
          'cassandra:Select',
          'cassandra:Modify',
        ].sort(),
      );
    });

    it('attaches no managed policy: not AWSLambdaMSKExecutionRole, not AWSLambdaBasicExecutionRole', () => {
      expectTemplate(pipeline).allResourcesProperties('AWS::IAM::Role', {
        ManagedPolicyArns: Match.absent(),
      });
    });
  });

  describe('monitoring', () => {
    it.each([
      ['OffsetLag', 'AWS/Lambda'],
      ['Errors', 'AWS/Lambda'],
      ['Throttles', 'AWS/Lambda'],
      ['ApproximateNumberOfMessagesVisible', 'AWS/SQS'],
    ])('alarms on %s for each consumer', (metric, namespace) => {
      expect(
        Object.keys(
          pipeline.findResources('AWS::CloudWatch::Alarm', {
            Properties: { MetricName: metric, Namespace: namespace },
          }),
        ),
      ).toHaveLength(JOB_NAMES.length);
    });

    it('alarms on the OffsetLag of the consumer function', () => {
      const fn = logicalId(pipeline, 'AWS::Lambda::Function', 'ConsumersentreceivedHandler');
      expectTemplate(pipeline).hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'OffsetLag',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        Threshold: 10_000,
        EvaluationPeriods: 5,
      });
    });

    it('notifies no one when alarmEmail is not set', () => {
      expectTemplate(pipeline).resourceCountIs('AWS::SNS::Topic', 0);
      expectTemplate(pipeline).allResourcesProperties('AWS::CloudWatch::Alarm', {
        AlarmActions: Match.absent(),
      });
    });

    it('has one dashboard per consumer, showing its OffsetLag and its records’ latency', () => {
      const dashboards = Object.values(pipeline.findResources('AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(JOB_NAMES.length);
      for (const d of dashboards) {
        const body = JSON.stringify(d['Properties']['DashboardBody']);
        expect(body).toContain('OffsetLag');
        expect(body).toContain('NewestRecordLatency');
        expect(body).toContain('OldestRecordLatency');
      }
    });
  });
});

describe('MicroBatchConsumer with a tuned config', () => {
  let pipeline: Template;
  beforeAll(() => {
    pipeline = synthPipeline({
      context: {
        'jobs.sent-received.startingPosition': 'AT_TIMESTAMP',
        'jobs.sent-received.startingPositionTimestamp': '1767225600',
        'jobs.sent-received.batchSize': '500',
        'jobs.sent-received.maxBatchingWindowSeconds': '30',
        'jobs.sent-received.consumerGroupId': 'tutorial-readers',
        'jobs.sensor-stats.provisionedPollers.minimumPollers': '1',
        'jobs.sensor-stats.provisionedPollers.maximumPollers': '3',
        'jobs.sensor-stats.retryAttempts': '5',
        'jobs.sensor-stats.maxRecordAgeSeconds': '3600',
        'jobs.sensor-stats.bisectBatchOnError': 'true',
        'jobs.sensor-stats.memorySize': '2048',
        'jobs.sensor-stats.timeoutSeconds': '840',
        alarmEmail: 'oncall@example.com',
      },
    }).templates.pipeline;
  });

  it('gives a job the memory its config sets, and the others the default', () => {
    const memory = (job: string) =>
      pipeline.toJSON()['Resources'][logicalId(pipeline, 'AWS::Lambda::Function', `${idPrefix(job)}Handler`)][
        'Properties'
      ]['MemorySize'];
    expect(memory('sensor-stats')).toBe(2048);
    expect(memory('sent-received')).toBe(CONSUMER_MEMORY_MB);
  });

  it('gives a job the timeout its config sets, the one the local runner keeps too, and the others the default', () => {
    const timeout = (job: string) =>
      pipeline.toJSON()['Resources'][logicalId(pipeline, 'AWS::Lambda::Function', `${idPrefix(job)}Handler`)][
        'Properties'
      ]['Timeout'];
    expect(timeout('sensor-stats')).toBe(840);
    expect(timeout('sent-received')).toBe(CONSUMER_TIMEOUT_SECONDS);
  });

  it('starts from a timestamp with AT_TIMESTAMP', () => {
    expect(esmOf(pipeline, 'sent-received').Properties).toMatchObject({
      StartingPosition: 'AT_TIMESTAMP',
      StartingPositionTimestamp: 1767225600,
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 30,
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'tutorial-readers' },
    });
  });

  it('carries the error-handling knobs with provisioned pollers', () => {
    expect(esmOf(pipeline, 'sensor-stats').Properties).toMatchObject({
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 3 },
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 3600,
      BisectBatchOnFunctionError: true,
    });
    // The handlers never answer with batchItemFailures (the config refuses the knob): no response type.
    expect(esmOf(pipeline, 'sensor-stats').Properties['FunctionResponseTypes']).toBeUndefined();
  });

  it('grants the renamed consumer group, not the default one', () => {
    const statements = consumerStatements(pipeline, 'sent-received');
    const uuid = ssmParameterRef(pipeline, '/microbatch/dev/kafka/cluster-uuid');
    expect(resourcesFor(statements, 'kafka-cluster:AlterGroup')).toEqual([
      mskResourceArn(uuid, 'group', 'tutorial-readers'),
    ]);
  });

  it('sends the alarms to an encrypted, TLS-only topic with the email subscription', () => {
    const topic = logicalId(pipeline, 'AWS::SNS::Topic', 'Alarms');
    expectTemplate(pipeline).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: topic },
    });
    expectTemplate(pipeline).hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    expectTemplate(pipeline).allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: topic }],
    });
  });

  it("lets CloudWatch use the alarm topic's own key only, not the on-failure queues' key", () => {
    // GIVEN
    type KeyStatement = Statement & { readonly Principal?: { readonly Service?: string } };
    const alarmKey = logicalId(pipeline, 'AWS::KMS::Key', 'AlarmKey');
    const queueKey = logicalId(pipeline, 'AWS::KMS::Key', 'Key');
    const keys = pipeline.findResources('AWS::KMS::Key');
    const cloudWatchActions = (key: string) =>
      (keys[key]!['Properties']['KeyPolicy']['Statement'] as KeyStatement[])
        .filter((st) => st.Principal?.Service === 'cloudwatch.amazonaws.com')
        .flatMap(actionsOf);

    // THEN
    const topic =
      pipeline.findResources('AWS::SNS::Topic')[logicalId(pipeline, 'AWS::SNS::Topic', 'Alarms')]!;
    expect(topic['Properties']['KmsMasterKeyId']).toEqual({ 'Fn::GetAtt': [alarmKey, 'Arn'] });
    expect(cloudWatchActions(alarmKey)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(cloudWatchActions(queueKey)).toEqual([]);
  });
});

describe('MicroBatchConsumer validation', () => {
  /** A consumer in a stack of its own, with a real cluster and schema; `eventSource` overrides the defaults. */
  function consumer(overrides: Partial<EventSourceConfig>, props: Partial<MicroBatchConsumerProps> = {}) {
    const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Test', { env: { account: '000000000000', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    const cluster = new MskCluster(stack, 'Cluster', {
      mode: 'serverless',
      clusterName: 'test',
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      logRetention: 7,
    });
    const schema = new KeyspacesSchema(stack, 'Schema', { keyspaceName: 'ks', tables: ALL_TABLES });
    const base = loadConfig(objectGetter({}), [shippedJob('sent-received')]).jobs['sent-received']!;
    return new MicroBatchConsumer(stack, 'Consumer', {
      job: 'sent-received',
      entry: 'lambda/jobs/sent-received.ts',
      cluster,
      topics: ['test'],
      eventSource: { ...base, ...overrides },
      writeTables: [schema.table('sent_received')],
      environment: {},
      logRetention: 7,
      ...props,
    });
  }

  it('accepts the default job config', () => {
    expect(consumer({}).consumerGroups).toEqual({ test: 'dev-sent-received' });
  });

  it('fails on AT_TIMESTAMP without a timestamp, where ManagedKafkaEventSource only warns', () => {
    expect(() => consumer({ startingPosition: 'AT_TIMESTAMP' })).toThrow(
      /eventSource.startingPositionTimestamp is undefined: AT_TIMESTAMP needs a timestamp/,
    );
  });

  it.each([
    ['in the future, which Lambda refuses', 32503680000],
    ['of 0, which ManagedKafkaEventSource takes for none', 0],
  ])('fails on an AT_TIMESTAMP starting position %s', (_, timestamp) => {
    // GIVEN an AT_TIMESTAMP position whose timestamp CreateEventSourceMapping or CDK would refuse
    const eventSource = { startingPosition: 'AT_TIMESTAMP' as const, startingPositionTimestamp: timestamp };

    // WHEN the consumer is built THEN it fails naming the prop, the value and the range
    expect(() => consumer(eventSource)).toThrow(
      new RegExp(
        `eventSource.startingPositionTimestamp is ${timestamp}: use epoch seconds from 1 to now \\(\\d+\\): ` +
          'Lambda refuses a starting position in the future',
      ),
    );
  });

  it('fails on a timestamp without AT_TIMESTAMP', () => {
    expect(() => consumer({ startingPositionTimestamp: 1767225600 })).toThrow(
      /startingPositionTimestamp is 1767225600: remove it, or set startingPosition to AT_TIMESTAMP/,
    );
  });

  it('fails on a retry limit without provisioned pollers', () => {
    expect(() => consumer({ retryAttempts: 3 })).toThrow(
      /eventSource.retryAttempts is 3: MSK event sources support it only with provisioned pollers/,
    );
  });

  it('fails on partial batch responses without provisioned pollers', () => {
    expect(() => consumer({ reportBatchItemFailures: true })).toThrow(
      /eventSource.reportBatchItemFailures is true/,
    );
  });

  it('fails on a batch size above the MSK limit', () => {
    expect(() => consumer({ batchSize: 10_001 })).toThrow(/eventSource.batchSize is 10001: use 1 to 10000/);
  });

  it('fails on a batching window above 300 s', () => {
    expect(() => consumer({ maxBatchingWindowSeconds: 301 })).toThrow(/maxBatchingWindowSeconds is 301/);
  });

  it('fails with no topic', () => {
    expect(() => consumer({}, { topics: [] })).toThrow(
      /MicroBatchConsumer topics is \[\]: name at least one topic/,
    );
  });

  it('fails on a timeout above the 14 minutes of Kafka event sources', () => {
    expect(() => consumer({}, { timeout: Duration.minutes(15) })).toThrow(/timeout is "15 minutes"/);
  });

  it('gives each topic its own consumer group when a job reads several', () => {
    expect(consumer({}, { topics: ['a', 'b'] }).consumerGroups).toEqual({
      a: 'dev-sent-received-a',
      b: 'dev-sent-received-b',
    });
  });
});

describe('MicroBatchConsumer filters and skipped offsets', () => {
  it('passes the job filter criteria to the event source mapping as Lambda patterns', () => {
    // GIVEN a filter on sensor-stats
    const filter = { value: { sensorId: [{ prefix: 's-' }] } };
    const t = synthPipeline({ context: { 'jobs.sensor-stats.filters': JSON.stringify([filter]) } });

    // THEN its mapping carries it, and sent-received's carries none
    expectTemplate(t.templates.pipeline).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      Topics: ['sensor-readings'],
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(filter) }] },
    });
    expectTemplate(t.templates.pipeline).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      Topics: ['test'],
      FilterCriteria: Match.absent(),
    });
  });

  it('fails on a filter Lambda would refuse, naming the key and the path in the pattern', () => {
    expect(() =>
      synthPipeline({ context: { 'jobs.sensor-stats.filters': '[{"key":{"a":["b"]}}]' } }),
    ).toThrow(/jobs.sensor-stats.filters.*filter on the "value" key only/);
  });

  it.each(JOB_NAMES)('raises an alarm as soon as %s skips an offset', (job) => {
    const t = synthPipeline();
    expectTemplate(t.templates.pipeline).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SkippedOffsets',
      Namespace: 'MicroBatch',
      Dimensions: Match.arrayWith([{ Name: 'job', Value: job }]),
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});
