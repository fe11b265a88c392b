/**
 * `PipelineNetwork`: the VPC the Kafka cluster lives in.
 *
 * - Two AZs (MSK needs brokers or subnets in at least two), isolated subnets only: no internet gateway, no
 *   NAT, no route to the internet at all.
 * - Flow logs of all traffic to a CloudWatch log group.
 * - The MSK event source mapping in on-demand mode invokes the function, assumes its role and sends failed
 *   batches to the on-failure destination through this VPC
 *   (https://docs.aws.amazon.com/lambda/latest/dg/with-msk-cluster-network.html), so it needs a path to
 *   Lambda, STS and SQS. Interface endpoints give that path without internet egress: 3 endpoints x 2 AZs x
 *   $0.01/h = $1.44/day, against $2.16/day for one NAT gateway per AZ (a single NAT, $1.08/day, would be a
 *   single-AZ dependency and open egress to the whole internet). Endpoint data costs $0.01/GB, NAT $0.045/GB.
 * - An S3 gateway endpoint (free) lets the topic-admin custom resource answer CloudFormation's pre-signed S3 URL.
 * - The redrive functions read MSK from inside the VPC and write Keyspaces, so a Keyspaces interface endpoint
 *   (port 9142) joins them ($0.48/day more); their SQS calls use the SQS endpoint.
 */
import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { lockedSecurityGroup } from './security-groups';

export interface PipelineNetworkProps {
  /** Retention of the flow logs. */
  readonly flowLogRetention: logs.RetentionDays;
  /**
   * @default '10.40.0.0/16'
   */
  readonly cidr?: string;
  /**
   * The AZs of the subnets, by name; exactly `AZ_COUNT` of them (see `mskAvailabilityZones`, which keeps them
   * out of the AZ IDs MSK refuses).
   *
   * @default - the first `AZ_COUNT` AZs of the stack
   */
  readonly availabilityZones?: readonly string[];
}

/** The AZ count: MSK provisioned brokers are spread over these, so `kafka.brokerCount` is a multiple of it. */
export const AZ_COUNT = 2;

/** The HTTPS port of the interface endpoints. */
export const HTTPS = ec2.Port.tcp(443);

/** The port of the Keyspaces endpoint (CQL over TLS). https://docs.aws.amazon.com/keyspaces/latest/devguide/vpc-endpoints.html */
export const KEYSPACES_PORT = ec2.Port.tcp(9142);

export class PipelineNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** The subnets of the cluster, its event source mappings and the in-VPC functions. */
  readonly subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  /** Attached to the interface endpoints; open on 443 only to what `allowEndpointAccessFrom` names. */
  readonly endpointSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: PipelineNetworkProps) {
    super(scope, id);
    if (props.availabilityZones !== undefined && props.availabilityZones.length !== AZ_COUNT) {
      throw new Error(
        `PipelineNetwork availabilityZones must name ${AZ_COUNT} AZs, received ${JSON.stringify(props.availabilityZones)}.`,
      );
    }
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr ?? '10.40.0.0/16'),
      ...(props.availabilityZones
        ? { availabilityZones: [...props.availabilityZones] }
        : { maxAzs: AZ_COUNT }),
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      // No resource uses the default security group; strip its rules so nothing can use it by accident.
      restrictDefaultSecurityGroup: true,
    });

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.vpc.addGatewayEndpoint('S3', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [this.subnets],
    });

    this.endpointSecurityGroup = lockedSecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface endpoints (Lambda, STS, SQS, Keyspaces): only from the groups allowed in',
    });

    const account = Stack.of(this).account;
    const endpoint = (
      name: string,
      service: ec2.InterfaceVpcEndpointAwsService,
      statement: iam.PolicyStatement,
    ) => {
      const e = this.vpc.addInterfaceEndpoint(name, {
        service,
        subnets: this.subnets,
        securityGroups: [this.endpointSecurityGroup],
        privateDnsEnabled: true,
        open: false,
      });
      e.addToPolicy(statement);
      return e;
    };
    // Endpoint policies as the Lambda guide shows them: the event source mapping calls STS and Lambda as the
    // Lambda service. https://docs.aws.amazon.com/lambda/latest/dg/with-msk-cluster-network.html#msk-vpc-privatelink
    endpoint(
      'Lambda',
      ec2.InterfaceVpcEndpointAwsService.LAMBDA,
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('lambda.amazonaws.com')],
        actions: ['lambda:InvokeFunction'],
        resources: ['*'],
      }),
    );
    endpoint(
      'Sts',
      ec2.InterfaceVpcEndpointAwsService.STS,
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('lambda.amazonaws.com')],
        actions: ['sts:AssumeRole'],
        resources: ['*'],
      }),
    );
    // The on-failure destination is sent with the function's execution role, and the redrive functions read it
    // back with theirs: principals of this account, on this account's queues.
    endpoint(
      'Sqs',
      ec2.InterfaceVpcEndpointAwsService.SQS,
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: [
          'sqs:SendMessage',
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
        ],
        resources: [Stack.of(this).formatArn({ service: 'sqs', resource: '*' })],
        conditions: { StringEquals: { 'aws:PrincipalAccount': account } },
      }),
    );
    // The redrive functions' CQL, with their roles: principals of this account, on this account's keyspaces.
    // https://docs.aws.amazon.com/keyspaces/latest/devguide/vpc-endpoints.html
    endpoint(
      'Keyspaces',
      ec2.InterfaceVpcEndpointAwsService.KEYSPACES,
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['cassandra:Select', 'cassandra:Modify'],
        resources: [
          `arn:${Stack.of(this).partition}:cassandra:${Stack.of(this).region}:${account}:/keyspace/*`,
        ],
        conditions: { StringEquals: { 'aws:PrincipalAccount': account } },
      }),
    );
  }

  /**
   * Opens the interface endpoints on 443 to `peer` (the MSK cluster's security group, used by the ESM). The
   * rules are made from the peer's side, so that CDK places both in the peer's stack and this stack does not
   * come to depend on it.
   */
  allowEndpointAccessFrom(peer: ec2.IConnectable): void {
    peer.connections.allowTo(
      this.endpointSecurityGroup,
      HTTPS,
      'Event source mapping to Lambda, STS and SQS',
    );
  }
}
