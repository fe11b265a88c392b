import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  IAM_BROKER_PORT,
  MskCluster,
  kafkaClusterParameterNames,
  type MskClusterProps,
} from '../../../lib/kafka/cluster';
import {
  expectTemplate,
  CDK_CONTEXT,
  logicalId,
  roleStatements,
  synthPipeline,
  type TestPipeline,
  actionsOf,
  clusterUuidOf,
  ssmParameterRef,
} from '../support';

const clusterSg = (kafka: Template) => logicalId(kafka, 'AWS::EC2::SecurityGroup', 'ClusterSecurityGroup');
const sgId = (id: string) => ({ 'Fn::GetAtt': [id, 'GroupId'] });

describe('MskCluster, provisioned (the default)', () => {
  let t: TestPipeline;
  let kafka: Template;
  beforeAll(() => {
    t = synthPipeline();
    kafka = t.templates.kafka;
  });

  it('accepts IAM clients only', () => {
    expectTemplate(kafka).hasResourceProperties('AWS::MSK::Cluster', {
      ClientAuthentication: {
        Sasl: { Iam: { Enabled: true }, Scram: { Enabled: false } },
        Unauthenticated: { Enabled: false },
        Tls: Match.absent(),
      },
    });
  });

  it('encrypts in transit between clients and brokers (TLS only) and inside the cluster', () => {
    expectTemplate(kafka).hasResourceProperties('AWS::MSK::Cluster', {
      EncryptionInfo: { EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true } },
    });
  });

  it('encrypts at rest with its own rotating customer managed key', () => {
    const key = logicalId(kafka, 'AWS::KMS::Key', 'ClusterDataKey');
    expectTemplate(kafka).hasResourceProperties('AWS::MSK::Cluster', {
      EncryptionInfo: { EncryptionAtRest: { DataVolumeKMSKeyId: { 'Fn::GetAtt': [key, 'Arn'] } } },
    });
    expectTemplate(kafka).hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('sends broker logs to a log group with the configured retention', () => {
    const logs = logicalId(kafka, 'AWS::Logs::LogGroup', 'ClusterBrokerLogs');
    expectTemplate(kafka).hasResourceProperties('AWS::MSK::Cluster', {
      LoggingInfo: { BrokerLogs: { CloudWatchLogs: { Enabled: true, LogGroup: { Ref: logs } } } },
    });
    expectTemplate(kafka).hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: t.config.logRetentionDays,
    });
  });

  it('sizes the brokers from the config, across the two isolated subnets', () => {
    expectTemplate(kafka).hasResourceProperties('AWS::MSK::Cluster', {
      ClusterName: 'dev-microbatch',
      KafkaVersion: t.config.kafka.version,
      NumberOfBrokerNodes: t.config.kafka.brokerCount,
      BrokerNodeGroupInfo: {
        InstanceType: t.config.kafka.brokerInstanceType,
        ClientSubnets: [Match.anyValue(), Match.anyValue()],
        SecurityGroups: [sgId(clusterSg(kafka))],
        StorageInfo: { EBSStorageInfo: { VolumeSize: t.config.kafka.brokerStorageGiB } },
      },
    });
  });

  it('keeps the old cluster on replacement, and deletes it with the stack', () => {
    expectTemplate(kafka).hasResource('AWS::MSK::Cluster', {
      UpdateReplacePolicy: 'Retain',
      DeletionPolicy: 'Delete',
    });
  });

  it('opens the broker port to its own security group, which the event source mapping ENIs use', () => {
    const sg = clusterSg(kafka);
    expectTemplate(kafka).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: sgId(sg),
      SourceSecurityGroupId: sgId(sg),
      IpProtocol: 'tcp',
      FromPort: IAM_BROKER_PORT,
      ToPort: IAM_BROKER_PORT,
    });
  });

  it('opens the broker port to the topic-admin, producer and redrive functions, and to nothing else', () => {
    // GIVEN every ingress rule of the cluster group, in any stack
    const sg = clusterSg(kafka);
    const kafkaRules = Object.values(
      kafka.findResources('AWS::EC2::SecurityGroupIngress', {
        Properties: { GroupId: sgId(sg) },
      }),
    );
    const pipelineRules = Object.values(
      t.templates.pipeline.findResources('AWS::EC2::SecurityGroupIngress'),
    ).filter((r) => JSON.stringify(r['Properties']['GroupId']).includes('ClusterSecurityGroup'));

    // THEN
    const sources = [...kafkaRules, ...pipelineRules].map((r) =>
      JSON.stringify(r['Properties']['SourceSecurityGroupId']),
    );
    expect(sources.sort()).toEqual(
      [
        JSON.stringify(sgId(sg)),
        JSON.stringify(sgId(logicalId(kafka, 'AWS::EC2::SecurityGroup', 'TopicsSecurityGroup'))),
        ...[
          'ProducerSecurityGroup',
          'RedrivepageviewsSecurityGroup',
          'RedrivesentreceivedSecurityGroup',
          'RedrivesensorstatsSecurityGroup',
        ].map((group) =>
          JSON.stringify(sgId(logicalId(t.templates.pipeline, 'AWS::EC2::SecurityGroup', group))),
        ),
      ].sort(),
    );
    for (const rule of [...kafkaRules, ...pipelineRules]) {
      expect(rule['Properties']).toMatchObject({ FromPort: IAM_BROKER_PORT, ToPort: IAM_BROKER_PORT });
    }
  });

  it('is never open to the internet', () => {
    for (const template of Object.values(t.templates)) {
      for (const rule of Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))) {
        expect(rule['Properties']['CidrIp']).toBeUndefined();
        expect(rule['Properties']['CidrIpv6']).toBeUndefined();
      }
      for (const sg of Object.values(template.findResources('AWS::EC2::SecurityGroup'))) {
        expect(sg['Properties']['SecurityGroupIngress']).toBeUndefined();
      }
    }
  });

  it('lets the cluster group reach only itself on 9098 and the endpoints on 443', () => {
    const sg = clusterSg(kafka);
    const egress = Object.values(
      kafka.findResources('AWS::EC2::SecurityGroupEgress', { Properties: { GroupId: sgId(sg) } }),
    );
    expect(
      egress
        .map((r) => [
          r['Properties']['FromPort'],
          JSON.stringify(r['Properties']['DestinationSecurityGroupId']),
        ])
        .sort(),
    ).toEqual(
      [
        [443, expect.stringContaining('EndpointSecurityGroup')],
        [IAM_BROKER_PORT, JSON.stringify(sgId(sg))],
      ].sort(),
    );
    expectTemplate(kafka).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^MSK provisioned cluster'),
      SecurityGroupEgress: [
        Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' }),
      ],
    });
  });

  it('reads the IAM bootstrap brokers at deploy time with GetBootstrapBrokers', () => {
    const cluster = logicalId(kafka, 'AWS::MSK::Cluster', 'Cluster');
    const lookup = Object.values(kafka.findResources('Custom::AWS'))[0]!;
    const create = JSON.stringify(lookup['Properties']['Create']);
    expect(create).toContain('\\"service\\":\\"Kafka\\",\\"action\\":\\"GetBootstrapBrokers\\"');
    expect(create).toContain(JSON.stringify({ 'Fn::GetAtt': [cluster, 'Arn'] }));
    expect(create).toContain('BootstrapBrokerStringSaslIam');
  });

  it('lets the lookup call GetBootstrapBrokers on this cluster only, with no managed policy', () => {
    const cluster = logicalId(kafka, 'AWS::MSK::Cluster', 'Cluster');
    expectTemplate(kafka).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'kafka:GetBootstrapBrokers',
            Resource: { 'Fn::GetAtt': [cluster, 'Arn'] },
          },
        ],
      },
    });
    const statements = roleStatements(kafka, 'ClusterBootstrapBrokersRole');
    expect(statements.flatMap(actionsOf).sort()).toEqual([
      'kafka:GetBootstrapBrokers',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    expectTemplate(kafka).allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});

describe('MskCluster, serverless', () => {
  let t: TestPipeline;
  let kafka: Template;
  beforeAll(() => {
    t = synthPipeline({ context: { 'kafka.mode': 'serverless' } });
    kafka = t.templates.kafka;
  });

  it('is an MSK Serverless cluster with IAM auth, in the two isolated subnets, with its own security group', () => {
    expectTemplate(kafka).resourceCountIs('AWS::MSK::Cluster', 0);
    expectTemplate(kafka).hasResourceProperties('AWS::MSK::ServerlessCluster', {
      ClusterName: 'dev-microbatch',
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } } },
      VpcConfigs: [
        { SubnetIds: [Match.anyValue(), Match.anyValue()], SecurityGroups: [sgId(clusterSg(kafka))] },
      ],
    });
  });

  it('has no provisioned-only resources: no broker key, no broker log group', () => {
    expectTemplate(kafka).resourceCountIs('AWS::KMS::Key', 0);
    expect(
      Object.keys(kafka.findResources('AWS::Logs::LogGroup')).some((id) =>
        id.startsWith('ClusterBrokerLogs'),
      ),
    ).toBe(false);
  });

  it('opens the same single port, 9098, to the same clients', () => {
    const sg = clusterSg(kafka);
    expectTemplate(kafka).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: sgId(sg),
      SourceSecurityGroupId: sgId(sg),
      FromPort: 9098,
      ToPort: 9098,
    });
  });

  it('creates topics with replication factor 3, the only one MSK Serverless has', () => {
    expectTemplate(kafka).hasResourceProperties('Custom::KafkaTopics', {
      Topics: Match.arrayWith([Match.objectLike({ ReplicationFactor: 3 })]),
    });
  });
});

describe('MskCluster across stacks: SSM parameters, read at every deploy', () => {
  let t: TestPipeline;
  let kafka: Template;
  beforeAll(() => {
    t = synthPipeline();
    kafka = t.templates.kafka;
  });

  it('publishes the ARN, the UUID and the bootstrap brokers of the cluster, what a replacement changes', () => {
    const arn = { 'Fn::GetAtt': [logicalId(kafka, 'AWS::MSK::Cluster', 'Cluster'), 'Arn'] };
    const brokers = {
      'Fn::GetAtt': [
        logicalId(kafka, 'Custom::AWS', 'ClusterBootstrapBrokers'),
        'BootstrapBrokerStringSaslIam',
      ],
    };
    const published = Object.values(kafka.findResources('AWS::SSM::Parameter')).map((p) => [
      p['Properties']['Name'],
      p['Properties']['Value'],
    ]);
    expect(published.sort()).toEqual(
      [
        ['/microbatch/dev/kafka/bootstrap-brokers', brokers],
        ['/microbatch/dev/kafka/cluster-arn', arn],
        ['/microbatch/dev/kafka/cluster-uuid', clusterUuidOf(arn)],
      ].sort(),
    );
  });

  it('gives the pipeline stack those values as SSM parameter types, so each deploy reads them again', () => {
    // GIVEN the pipeline's parameters that read the cluster
    const parameters = t.templates.pipeline.toJSON()['Parameters'] as Record<
      string,
      { Type: string; Default: string; Description?: string }
    >;
    const cluster = Object.values(parameters).filter((p) => p.Default.startsWith('/microbatch/dev/kafka/'));

    // THEN there are the three, and none carries "[cdk:skip]", the mark with which the CDK CLI would skip the
    // deploy of an unchanged template; CloudFormation resolves each at every create and update
    expect(cluster.map((p) => [p.Default, p.Type]).sort()).toEqual([
      ['/microbatch/dev/kafka/bootstrap-brokers', 'AWS::SSM::Parameter::Value<String>'],
      ['/microbatch/dev/kafka/cluster-arn', 'AWS::SSM::Parameter::Value<String>'],
      ['/microbatch/dev/kafka/cluster-uuid', 'AWS::SSM::Parameter::Value<String>'],
    ]);
    for (const p of cluster) expect(p.Description ?? '').not.toContain('[cdk:skip]');
    ssmParameterRef(t.templates.pipeline, '/microbatch/dev/kafka/cluster-arn');
  });

  it('deploys the pipeline stack after the Kafka stack, whose parameters it reads', () => {
    expect(t.stacks.pipeline.dependencies).toContain(t.stacks.kafka);
  });

  it('takes the cluster security group as a strong reference, which CloudFormation keeps from changing under an importer', () => {
    const imports = JSON.stringify(t.templates.pipeline.toJSON()).match(/"Fn::ImportValue":"[^"]+"/g) ?? [];
    expect(new Set(imports.filter((i) => i.includes('ClusterSecurityGroup'))).size).toBe(1);
    expect(imports.every((i) => i.startsWith('"Fn::ImportValue":"dev-microbatch-'))).toBe(true);
  });

  it('names the parameters after the prefix, and refuses a prefix SSM would refuse', () => {
    expect(kafkaClusterParameterNames('/microbatch/qa/kafka')).toEqual({
      clusterArn: '/microbatch/qa/kafka/cluster-arn',
      clusterUuid: '/microbatch/qa/kafka/cluster-uuid',
      bootstrapBrokers: '/microbatch/qa/kafka/bootstrap-brokers',
    });
    expect(() => kafkaClusterParameterNames('microbatch/kafka')).toThrow(
      /parameter prefix must be a path such as '\/microbatch\/dev\/kafka'.*received 'microbatch\/kafka'/,
    );
  });
});

describe('MskCluster validation', () => {
  function cluster(props: Partial<MskClusterProps>): MskCluster {
    const stack = new Stack(new App({ context: CDK_CONTEXT }), 'Test', {
      env: { account: '000000000000', region: 'us-east-1' },
    });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    return new MskCluster(stack, 'Cluster', {
      mode: 'provisioned',
      clusterName: 'test',
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      logRetention: 7,
      ...props,
    });
  }

  it('fails on a broker count that is not a multiple of the AZs', () => {
    expect(() => cluster({ brokerCount: 3 })).toThrow(
      /brokerCount must be a multiple of the 2 AZs of vpcSubnets, received 3/,
    );
  });

  it('fails on a cluster name MSK refuses', () => {
    expect(() => cluster({ clusterName: 'no_underscores' })).toThrow(
      /clusterName must be .* received 'no_underscores'/,
    );
  });

  it('fails on a provisioned-only prop in serverless mode', () => {
    expect(() => cluster({ mode: 'serverless', brokerInstanceType: 'kafka.m7g.large' })).toThrow(
      /brokerInstanceType applies to provisioned clusters only; remove it for mode 'serverless'/,
    );
  });

  it('fails on a grant with no topic', () => {
    expect(() => cluster({}).grantProduce(new iam.AnyPrincipal(), [])).toThrow(
      /grantProduce topics is empty/,
    );
  });
});
