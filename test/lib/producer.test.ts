import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_TOPIC } from '../../schema';
import { ConfigError } from '../../config';
import {
  expectTemplate,
  JOB_NAMES,
  actionsOf,
  logicalId,
  mskResourceArn,
  ssmParameterRef,
  resourcesFor,
  roleStatements,
  synthPipeline,
  type TestPipeline,
} from './support';

describe('ScheduledProducer', () => {
  let t: TestPipeline;
  let pipeline: Template;
  beforeAll(() => {
    t = synthPipeline({ context: { 'producer.ratePerSecond': '5' } });
    pipeline = t.templates.pipeline;
  });

  it('runs every minute, without retrying a missed run', () => {
    const fn = logicalId(pipeline, 'AWS::Lambda::Function', 'ProducerHandler');
    expectTemplate(pipeline).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [fn, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } }),
      ],
    });
  });

  it('sends the configured rate to topic test for 60 s, with time to disconnect before its timeout', () => {
    expectTemplate(pipeline).hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 90,
      Environment: {
        Variables: {
          MICROBATCH_PRODUCER_TOPIC: TEST_TOPIC.name,
          MICROBATCH_PRODUCER_RATE_PER_SECOND: '5',
          MICROBATCH_PRODUCER_DURATION_SECONDS: '60',
          MICROBATCH_BOOTSTRAP_BROKERS: ssmParameterRef(pipeline, '/microbatch/dev/kafka/bootstrap-brokers'),
        },
      },
    });
  });

  it('runs in the VPC, in a security group whose only egress is the brokers', () => {
    const sg = logicalId(pipeline, 'AWS::EC2::SecurityGroup', 'ProducerSecurityGroup');
    expectTemplate(pipeline).hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SecurityGroupIds: [{ 'Fn::GetAtt': [sg, 'GroupId'] }], SubnetIds: Match.anyValue() },
    });
    const egress = Object.values(
      pipeline.findResources('AWS::EC2::SecurityGroupEgress', {
        Properties: { GroupId: { 'Fn::GetAtt': [sg, 'GroupId'] } },
      }),
    );
    expect(egress.map((r) => [r['Properties']['FromPort'], r['Properties']['ToPort']])).toEqual([
      [9098, 9098],
    ]);
    expectTemplate(pipeline).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Scheduled producer'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
    });
  });

  it('may write to topic test and nothing else', () => {
    // GIVEN
    const statements = roleStatements(pipeline, 'ProducerHandlerRole');
    const test = mskResourceArn(
      ssmParameterRef(pipeline, '/microbatch/dev/kafka/cluster-uuid'),
      'topic',
      TEST_TOPIC.name,
    );

    // THEN
    expect(resourcesFor(statements, 'kafka-cluster:Connect')).toEqual([
      ssmParameterRef(pipeline, '/microbatch/dev/kafka/cluster-arn'),
    ]);
    expect(resourcesFor(statements, 'kafka-cluster:WriteData')).toEqual([test]);
    expect(resourcesFor(statements, 'kafka-cluster:DescribeTopic')).toEqual([test]);
    expect(
      statements
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('kafka'))
        .sort(),
    ).toEqual(['kafka-cluster:Connect', 'kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData']);
  });
});

describe('ScheduledProducer turned off', () => {
  let pipeline: Template;
  beforeAll(() => {
    pipeline = synthPipeline({ context: { 'producer.enabled': 'false' } }).templates.pipeline;
  });

  it('creates no producer resources at all', () => {
    // The rules and groups left are the redrive functions' (one per job).
    expectTemplate(pipeline).resourceCountIs('AWS::Events::Rule', JOB_NAMES.length);
    expectTemplate(pipeline).resourceCountIs('AWS::EC2::SecurityGroup', JOB_NAMES.length);
    const ids = Object.keys(pipeline.toJSON()['Resources']);
    expect(ids.filter((id) => id.startsWith('Producer'))).toEqual([]);
  });
});

describe('ScheduledProducer config', () => {
  it('fails on a rate above 100 messages a second, naming key, value and range', () => {
    expect(() => synthPipeline({ context: { 'producer.ratePerSecond': '1000' } })).toThrow(ConfigError);
    expect(() => synthPipeline({ context: { 'producer.ratePerSecond': '1000' } })).toThrow(
      /Invalid config 'producer.ratePerSecond': received "1000"; expected an integer from 1 to 100/,
    );
  });

  it('fails on a producer switch that is not a boolean', () => {
    expect(() => synthPipeline({ context: { 'producer.enabled': 'maybe' } })).toThrow(
      /Invalid config 'producer.enabled': received "maybe"; expected true or false/,
    );
  });
});
