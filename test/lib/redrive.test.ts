import { Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { JOB_RUNTIME_TABLES } from '../../schema';
import { kafkaClusterParameterNames, MskCluster } from '../../lib/kafka/cluster';
import { SkippedRangeRedrive, type SkippedRangeRedriveProps } from '../../lib/redrive';
import {
  actionsOf,
  expectTemplate,
  keyspacesTableArn,
  logicalId,
  mskResourceArn,
  resourcesFor,
  roleStatements,
  ssmParameterRef,
  synthPipeline,
  testApp,
  type TestPipeline,
  JOB_NAMES,
  shippedJob,
} from './support';

/** `Redrive-sent-received` becomes logical IDs starting with `Redrivesentreceived`. */
const idPrefix = (job: string) => `Redrive${job.replace(/-/g, '')}`;

describe('SkippedRangeRedrive in the pipeline', () => {
  let t: TestPipeline;
  let pipeline: Template;
  beforeAll(() => {
    t = synthPipeline();
    pipeline = t.templates.pipeline;
  });

  it.each(JOB_NAMES)('gives %s a redrive function with exactly the actions it uses', (job) => {
    // GIVEN the redrive function's role
    const statements = roleStatements(pipeline, `${idPrefix(job)}HandlerRole`);

    // THEN no action beyond these, and none with a wildcard
    expect([...new Set(statements.flatMap(actionsOf))].sort()).toEqual(
      [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
        'ec2:DescribeVpcEndpoints',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'kms:Decrypt',
        'kafka-cluster:Connect',
        'kafka-cluster:DescribeTopic',
        'kafka-cluster:ReadData',
        'kafka-cluster:DescribeGroup',
        'kafka-cluster:AlterGroup',
        'cassandra:Select',
        'cassandra:Modify',
      ].sort(),
    );
  });

  it.each(JOB_NAMES)('lets %s read its own queue, topics, one redrive group and tables only', (job) => {
    const statements = roleStatements(pipeline, `${idPrefix(job)}HandlerRole`);
    const queue = logicalId(pipeline, 'AWS::SQS::Queue', `Consumer${job.replace(/-/g, '')}OnFailure`);
    const uuid = ssmParameterRef(pipeline, '/microbatch/dev/kafka/cluster-uuid');

    expect(resourcesFor(statements, 'sqs:ReceiveMessage')).toEqual([{ 'Fn::GetAtt': [queue, 'Arn'] }]);
    expect(resourcesFor(statements, 'kafka-cluster:ReadData')).toEqual(
      shippedJob(job).topics.map((topic) => mskResourceArn(uuid, 'topic', topic.name)),
    );
    expect(resourcesFor(statements, 'kafka-cluster:AlterGroup')).toEqual([
      mskResourceArn(uuid, 'group', `${t.config.jobs[job]!.consumerGroupId}-redrive`),
    ]);
    expect(resourcesFor(statements, 'cassandra:Modify').sort()).toEqual(
      [...shippedJob(job).tables, ...JOB_RUNTIME_TABLES]
        .map((table) => keyspacesTableArn('test_time', table.name))
        .sort(),
    );
  });

  it.each(JOB_NAMES)(
    'lets %s look up the Keyspaces endpoint, so that system.peers lists its addresses in the VPC',
    (job) => {
      // GIVEN the redrive function's role
      const statements = roleStatements(pipeline, `${idPrefix(job)}HandlerRole`);

      // THEN the lookup Keyspaces makes for it, on *: Describe actions take no resource
      expect(resourcesFor(statements, 'ec2:DescribeVpcEndpoints')).toEqual(['*']);
      expect(resourcesFor(statements, 'ec2:DescribeNetworkInterfaces')).toEqual(['*']);
      expect(statements.flatMap(actionsOf).filter((a) => a === 'ec2:DescribeNetworkInterfaces')).toHaveLength(
        1,
      );
    },
  );

  it.each(JOB_NAMES)('runs %s in the VPC, one run at a time, every 15 minutes by default', (job) => {
    const fn = logicalId(pipeline, 'AWS::Lambda::Function', `${idPrefix(job)}Handler`);
    expectTemplate(pipeline).hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: Match.objectLike({ SecurityGroupIds: Match.anyValue() }),
      ReservedConcurrentExecutions: 1,
      Environment: {
        Variables: Match.objectLike({
          MICROBATCH_JOB: job,
          MICROBATCH_ON_FAILURE_QUEUE_URL: Match.anyValue(),
          MICROBATCH_BOOTSTRAP_BROKERS: Match.anyValue(),
        }),
      },
    });
    expectTemplate(pipeline).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [fn, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } }),
      ],
    });
    // A failed or throttled run is dropped by Lambda too, before the next scheduled one.
    expectTemplate(pipeline).hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fn },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 900,
    });
  });

  it('lets the redrive functions out only to the brokers and the interface endpoints', () => {
    const egress = Object.values(pipeline.findResources('AWS::EC2::SecurityGroupEgress')).filter((r) =>
      JSON.stringify(r['Properties']['GroupId']).includes('Redrivesentreceived'),
    );
    expect(egress.map((r) => [r['Properties']['FromPort'], r['Properties']['ToPort']]).sort()).toEqual(
      [
        [443, 443],
        [9098, 9098],
        [9142, 9142],
      ].sort(),
    );
  });
});

describe('SkippedRangeRedrive config', () => {
  it('runs only on demand with redrive.scheduleMinutes=0', () => {
    const t = synthPipeline({ context: { 'redrive.scheduleMinutes': '0' } });
    const rules = Object.keys(t.templates.pipeline.findResources('AWS::Events::Rule'));
    expect(rules.filter((id) => id.startsWith('Redrive'))).toEqual([]);
    expect(Object.keys(t.templates.pipeline.findResources('AWS::Lambda::EventInvokeConfig'))).toEqual([]);
  });

  it('fails on a schedule outside 1 minute to a day, or a schedule with onDemandOnly, naming the props and the way out', () => {
    // GIVEN a redrive in a stack of its own
    const app = testApp();
    const stack = new Stack(app, 'S', { env: { account: '000000000000', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      natGateways: 0,
      subnetConfiguration: [{ name: 'i', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const cluster = MskCluster.fromParameters(stack, 'Cluster', {
      mode: 'provisioned',
      clusterName: 'c',
      securityGroup: new ec2.SecurityGroup(stack, 'ClusterSg', { vpc }),
      parameters: kafkaClusterParameterNames('/microbatch/test/kafka'),
    });
    const key = new kms.Key(stack, 'Key');
    const queue = new sqs.Queue(stack, 'Q');
    const endpointSecurityGroup = new ec2.SecurityGroup(stack, 'E', { vpc });

    const redrive = (id: string, schedule: Pick<SkippedRangeRedriveProps, 'every' | 'onDemandOnly'>) =>
      new SkippedRangeRedrive(stack, id, {
        job: 'sent-received',
        jobEntry: 'lambda/jobs/sent-received.ts',
        cluster,
        topics: ['test'],
        consumerGroupId: 'g',
        queue,
        queueKey: key,
        tables: [],
        vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        endpointSecurityGroup,
        environment: {},
        logRetention: 7,
        ...schedule,
      });

    // THEN
    expect(() => redrive('R1', { every: Duration.days(2) })).toThrow(
      /SkippedRangeRedrive every is 2 days: use 1 minute to 1 day, or onDemandOnly: true/,
    );
    expect(() => redrive('R2', { every: Duration.minutes(5), onDemandOnly: true })).toThrow(
      /SkippedRangeRedrive every is 5 minutes with onDemandOnly: .*Leave out every, or onDemandOnly/,
    );
    expect(redrive('R3', { onDemandOnly: true }).rule).toBeUndefined();
    expect(redrive('R4', {}).rule).toBeDefined();
  });
});
