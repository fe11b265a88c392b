import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { MskCluster } from '../../../lib/kafka/cluster';
import { KafkaTopics, type TopicProps } from '../../../lib/kafka/topics';
import {
  expectTemplate,
  CDK_CONTEXT,
  actionsOf,
  logicalId,
  mskResourceArn,
  clusterUuidOf,
  resourcesFor,
  roleStatements,
  synthPipeline,
  type TestPipeline,
  ALL_TOPICS,
} from '../support';

describe('KafkaTopics', () => {
  let t: TestPipeline;
  let kafka: Template;
  let clusterArn: unknown;
  beforeAll(() => {
    t = synthPipeline({ context: { 'topics.test.partitions': '6' } });
    kafka = t.templates.kafka;
    clusterArn = { 'Fn::GetAtt': [logicalId(kafka, 'AWS::MSK::Cluster', 'Cluster'), 'Arn'] };
  });

  it('asks for every topic of the schema with the configured partitions and replication', () => {
    expectTemplate(kafka).hasResourceProperties('Custom::KafkaTopics', {
      Topics: ALL_TOPICS.map((topic) => ({
        Name: topic.name,
        Partitions: t.config.topics[topic.name]!.partitions,
        ReplicationFactor: t.config.topics[topic.name]!.replicationFactor,
      })),
    });
  });

  it('grows a topic when the config raises its partitions', () => {
    expectTemplate(kafka).hasResourceProperties('Custom::KafkaTopics', {
      Topics: Match.arrayWith([{ Name: 'test', Partitions: 6, ReplicationFactor: 2 }]),
    });
  });

  it('is served by the topic-admin function, in the VPC with its own security group', () => {
    const fn = logicalId(kafka, 'AWS::Lambda::Function', 'TopicsHandler');
    const sg = logicalId(kafka, 'AWS::EC2::SecurityGroup', 'TopicsSecurityGroup');
    expectTemplate(kafka).hasResourceProperties('Custom::KafkaTopics', {
      ServiceToken: { 'Fn::GetAtt': [fn, 'Arn'] },
    });
    expectTemplate(kafka).hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      VpcConfig: {
        SecurityGroupIds: [{ 'Fn::GetAtt': [sg, 'GroupId'] }],
        SubnetIds: [Match.anyValue(), Match.anyValue()],
      },
      Environment: { Variables: { MICROBATCH_BOOTSTRAP_BROKERS: Match.anyValue() } },
    });
  });

  it('waits for the cluster and its security group rules before running', () => {
    const resource = Object.values(kafka.findResources('Custom::KafkaTopics'))[0]!;
    expect(resource['DependsOn']).toEqual(
      expect.arrayContaining([
        logicalId(kafka, 'AWS::MSK::Cluster', 'Cluster'),
        expect.stringMatching(/^ClusterSecurityGroupfromKafkaTopicsSecurityGroup/),
      ]),
    );
  });

  it('lets the function create, describe and grow the pipeline topics, and delete nothing', () => {
    // GIVEN
    const statements = roleStatements(kafka, 'TopicsHandlerRole');
    const sorted = (list: unknown[]) => list.map((x) => JSON.stringify(x)).sort();
    const topics = sorted(
      ALL_TOPICS.map((topic) => mskResourceArn(clusterUuidOf(clusterArn), 'topic', topic.name)),
    );

    // THEN
    expect(resourcesFor(statements, 'kafka-cluster:Connect')).toEqual([clusterArn]);
    for (const action of ['CreateTopic', 'DescribeTopic', 'AlterTopic']) {
      expect(sorted(resourcesFor(statements, `kafka-cluster:${action}`))).toEqual(topics);
    }
    const actions = statements.flatMap(actionsOf);
    expect(actions.filter((a) => a.startsWith('kafka-cluster:')).sort()).toEqual(
      [
        'kafka-cluster:AlterTopic',
        'kafka-cluster:Connect',
        'kafka-cluster:CreateTopic',
        'kafka-cluster:DescribeTopic',
      ].sort(),
    );
    expect(actions.some((a) => a.includes('Delete') && a.startsWith('kafka'))).toBe(false);
  });

  it('lets the function reach the brokers on 9098 and S3 (the response URL) on 443 only', () => {
    const sg = logicalId(kafka, 'AWS::EC2::SecurityGroup', 'TopicsSecurityGroup');
    expectTemplate(kafka).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Topic-admin'),
      SecurityGroupEgress: [
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
      ],
    });
    expectTemplate(kafka).hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [sg, 'GroupId'] },
      FromPort: 9098,
      ToPort: 9098,
    });
  });
});

describe('KafkaTopics validation', () => {
  function topics(list: TopicProps[]): KafkaTopics {
    const stack = new Stack(new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } }), 'Test', {
      env: { account: '000000000000', region: 'us-east-1' },
    });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    const subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const cluster = new MskCluster(stack, 'Cluster', {
      mode: 'serverless',
      clusterName: 'test',
      vpc,
      vpcSubnets: subnets,
      logRetention: 7,
    });
    return new KafkaTopics(stack, 'Topics', {
      cluster,
      vpc,
      vpcSubnets: subnets,
      logRetention: 7,
      topics: list,
    });
  }

  it('fails with no topic', () => {
    expect(() => topics([])).toThrow(/KafkaTopics topics is empty/);
  });

  it('fails on an illegal topic name', () => {
    expect(() => topics([{ name: 'a/b', partitions: 1, replicationFactor: 3 }])).toThrow(
      /topic name 'a\/b' is not a legal Kafka topic name/,
    );
  });

  it('fails on zero partitions', () => {
    expect(() => topics([{ name: 'a', partitions: 0, replicationFactor: 3 }])).toThrow(
      /topic 'a' partitions must be an integer from 1 to 10000, received 0/,
    );
  });

  it('fails on a topic listed twice', () => {
    const a = { name: 'a', partitions: 1, replicationFactor: 3 };
    expect(() => topics([a, a])).toThrow(/topic 'a' is listed twice/);
  });
});
