import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { availabilityZoneIdsContextKey } from '../../lib/kafka/availability-zones';
import { expectTemplate, logicalId, synthPipeline, type TestPipeline } from './support';

describe('PipelineNetwork', () => {
  let t: TestPipeline;
  let network: Template;
  beforeAll(() => {
    t = synthPipeline();
    network = t.templates.network;
  });

  it('puts its subnets in the AZs whose ID MSK accepts (cdk.json maps us-east-1b to use1-az3)', () => {
    const subnets = Object.values(network.findResources('AWS::EC2::Subnet'));
    expect(subnets.map((s) => s['Properties']['AvailabilityZone']).sort()).toEqual([
      'us-east-1a',
      'us-east-1c',
    ]);
  });

  it('fails synth in us-east-1 when the account has no AZ ID mapping', () => {
    expect(() =>
      synthPipeline({ context: { [availabilityZoneIdsContextKey('000000000000', 'us-east-1')]: null } }),
    ).toThrow(/MSK refuses client subnets in AZ ID use1-az3/);
  });

  it('spans two availability zones with isolated subnets only', () => {
    const subnets = Object.values(network.findResources('AWS::EC2::Subnet')).map((s) => s['Properties']);
    expect(subnets).toHaveLength(2);
    expect(new Set(subnets.map((s) => JSON.stringify(s['AvailabilityZone']))).size).toBe(2);
    for (const s of subnets) expect(s['MapPublicIpOnLaunch']).toBe(false);
  });

  it('has no route to the internet: no internet gateway, no NAT gateway', () => {
    expectTemplate(network).resourceCountIs('AWS::EC2::InternetGateway', 0);
    expectTemplate(network).resourceCountIs('AWS::EC2::NatGateway', 0);
    for (const route of Object.values(network.findResources('AWS::EC2::Route'))) {
      expect(route['Properties']['DestinationCidrBlock']).not.toBe('0.0.0.0/0');
    }
  });

  it('logs all traffic to a log group with the configured retention', () => {
    const logs = logicalId(network, 'AWS::Logs::LogGroup', 'NetworkFlowLogs');
    expectTemplate(network).hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: logs },
    });
    expectTemplate(network).hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: t.config.logRetentionDays,
    });
  });

  it.each(['lambda', 'sts', 'sqs'])(
    'reaches %s through an interface endpoint with private DNS in both subnets',
    (service) => {
      const sg = logicalId(network, 'AWS::EC2::SecurityGroup', 'NetworkEndpointSecurityGroup');
      expectTemplate(network).hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Interface',
        ServiceName: `com.amazonaws.us-east-1.${service}`,
        PrivateDnsEnabled: true,
        SubnetIds: [Match.anyValue(), Match.anyValue()],
        SecurityGroupIds: [{ 'Fn::GetAtt': [sg, 'GroupId'] }],
      });
    },
  );

  it('limits the Lambda and STS endpoints to the Lambda service, as the MSK guide shows', () => {
    for (const [service, action] of [
      ['lambda', 'lambda:InvokeFunction'],
      ['sts', 'sts:AssumeRole'],
    ]) {
      expectTemplate(network).hasResourceProperties('AWS::EC2::VPCEndpoint', {
        ServiceName: `com.amazonaws.us-east-1.${service}`,
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: action,
              Principal: { Service: 'lambda.amazonaws.com' },
              Resource: '*',
            },
          ],
        },
      });
    }
  });

  it('limits the SQS endpoint to sending (the event source) and receiving (the redrive) by principals of this account', () => {
    expectTemplate(network).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: 'com.amazonaws.us-east-1.sqs',
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: [
              'sqs:ChangeMessageVisibility',
              'sqs:DeleteMessage',
              'sqs:ReceiveMessage',
              'sqs:SendMessage',
            ],
            Condition: { StringEquals: { 'aws:PrincipalAccount': '000000000000' } },
          }),
        ],
      },
    });
  });

  it('reaches Keyspaces through an interface endpoint limited to reading and writing keyspaces of this account', () => {
    expectTemplate(network).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: 'com.amazonaws.us-east-1.cassandra',
      PrivateDnsEnabled: true,
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: ['cassandra:Modify', 'cassandra:Select'],
            Resource: Match.stringLikeRegexp(':cassandra:us-east-1:000000000000:/keyspace/\\*$'),
            Condition: { StringEquals: { 'aws:PrincipalAccount': '000000000000' } },
          }),
        ],
      },
    });
  });

  it('reaches S3 through a free gateway endpoint (the custom resource response URL)', () => {
    expectTemplate(network).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
    });
  });

  it('opens the endpoints on 443 to the MSK cluster security group only', () => {
    // The rule lives in the Kafka stack, next to the group it names.
    const kafka = t.templates.kafka;
    const rules = Object.values(kafka.findResources('AWS::EC2::SecurityGroupIngress')).filter((r) =>
      JSON.stringify(r['Properties']['GroupId']).includes('EndpointSecurityGroup'),
    );
    expect(rules.map((r) => r['Properties'])).toEqual([
      expect.objectContaining({
        FromPort: 443,
        ToPort: 443,
        IpProtocol: 'tcp',
        SourceSecurityGroupId: {
          'Fn::GetAtt': [logicalId(kafka, 'AWS::EC2::SecurityGroup', 'ClusterSecurityGroup'), 'GroupId'],
        },
      }),
    ]);
  });

  it('strips the rules of the default security group', () => {
    expectTemplate(network).resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });
});
