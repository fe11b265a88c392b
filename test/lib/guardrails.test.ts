import { App, Stack, Validations } from 'aws-cdk-lib';
import * as cassandra from 'aws-cdk-lib/aws-cassandra';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as msk from 'aws-cdk-lib/aws-msk';
import { describe, expect, it } from 'vitest';
import { PipelineChecks } from '../../lib/guardrails';
import { lockedSecurityGroup } from '../../lib/security-groups';
import { synthPipeline } from './support';

/** The rule ids the pipeline checks report for `scope`. */
function findings(scope: App | Stack): string[] {
  return new PipelineChecks()
    .validateScope(scope)
    .violations.map((v) => v.ruleName)
    .sort();
}

function stack(): { app: App; stack: Stack; vpc: ec2.Vpc } {
  const app = new App();
  const s = new Stack(app, 'Test', { env: { account: '000000000000', region: 'us-east-1' } });
  return {
    app,
    stack: s,
    vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2, natGateways: 0, restrictDefaultSecurityGroup: false }),
  };
}

function serverless(
  s: Stack,
  vpc: ec2.Vpc,
  overrides: Partial<msk.CfnServerlessClusterProps> = {},
  sg?: ec2.ISecurityGroup,
) {
  const group = sg ?? lockedSecurityGroup(s, 'ClusterSg', { vpc });
  return new msk.CfnServerlessCluster(s, 'Cluster', {
    clusterName: 'c',
    clientAuthentication: { sasl: { iam: { enabled: true } } },
    vpcConfigs: [
      { subnetIds: vpc.isolatedSubnets.map((n) => n.subnetId), securityGroups: [group.securityGroupId] },
    ],
    ...overrides,
  });
}

const GOOD_TABLE: cassandra.CfnTableProps = {
  keyspaceName: 'ks',
  tableName: 't',
  partitionKeyColumns: [{ columnName: 'id', columnType: 'text' }],
  billingMode: { mode: 'ON_DEMAND' },
  pointInTimeRecoveryEnabled: true,
  encryptionSpecification: { encryptionType: 'AWS_OWNED_KMS_KEY' },
};

describe('PipelineChecks on the pipeline itself', () => {
  it.each(['provisioned', 'serverless'])('finds nothing in %s mode', (mode) => {
    const { app } = synthPipeline({ context: { 'kafka.mode': mode } });
    expect(findings(app)).toEqual([]);
  });
});

describe('PipelineChecks: MSK', () => {
  it('passes a serverless cluster with IAM auth and a locked security group', () => {
    const { stack: s, vpc } = stack();
    serverless(s, vpc);
    expect(findings(s)).toEqual([]);
  });

  it('fails a serverless cluster with IAM auth off', () => {
    const { stack: s, vpc } = stack();
    serverless(s, vpc, { clientAuthentication: { sasl: { iam: { enabled: false } } } });
    expect(findings(s)).toEqual(['Pipeline-MSKIamAuth']);
  });

  it('fails a provisioned cluster that also accepts unauthenticated clients', () => {
    const { stack: s, vpc } = stack();
    const sg = lockedSecurityGroup(s, 'Sg', { vpc });
    new msk.CfnCluster(s, 'Cluster', {
      clusterName: 'c',
      kafkaVersion: '3.9.x',
      numberOfBrokerNodes: 2,
      brokerNodeGroupInfo: {
        clientSubnets: vpc.isolatedSubnets.map((n) => n.subnetId),
        instanceType: 'kafka.t3.small',
        securityGroups: [sg.securityGroupId],
      },
      clientAuthentication: { sasl: { iam: { enabled: true } }, unauthenticated: { enabled: true } },
    });
    expect(findings(s)).toEqual(['Pipeline-MSKIamAuth']);
  });

  it('fails a serverless cluster with no security group of its own (it would get the default group)', () => {
    const { stack: s, vpc } = stack();
    serverless(s, vpc, { vpcConfigs: [{ subnetIds: vpc.isolatedSubnets.map((n) => n.subnetId) }] });
    expect(findings(s)).toEqual(['Pipeline-MSKSecurityGroup']);
  });

  it('fails a cluster whose security group is open to 0.0.0.0/0 by an inline rule', () => {
    const { stack: s, vpc } = stack();
    const sg = lockedSecurityGroup(s, 'ClusterSg', { vpc });
    sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(9098));
    serverless(s, vpc, {}, sg);
    expect(findings(s)).toEqual(['Pipeline-MSKSecurityGroup']);
  });

  it('fails a cluster whose security group is opened to ::/0 from another stack', () => {
    // GIVEN the cluster in one stack
    const { app, stack: s, vpc } = stack();
    const sg = lockedSecurityGroup(s, 'ClusterSg', { vpc });
    serverless(s, vpc, {}, sg);

    // WHEN another stack adds a world-open rule to its group
    const other = new Stack(app, 'Other', { env: { account: '000000000000', region: 'us-east-1' } });
    new ec2.CfnSecurityGroupIngress(other, 'Open', {
      groupId: sg.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: 9098,
      toPort: 9098,
      cidrIpv6: '::/0',
    });

    // THEN
    expect(findings(app)).toEqual(['Pipeline-MSKSecurityGroup']);
  });

  it('fails a cluster naming a security group it cannot check', () => {
    const { stack: s, vpc } = stack();
    serverless(s, vpc, {}, ec2.SecurityGroup.fromSecurityGroupId(s, 'Imported', 'sg-0123456789abcdef0'));
    expect(findings(s)).toEqual(['Pipeline-MSKSecurityGroup']);
  });
});

describe('PipelineChecks: security group egress', () => {
  it('fails a group whose only egress rules are separate resources (EC2 would add allow-all)', () => {
    // GIVEN a plain CDK group with allowAllOutbound false and an SG-to-SG egress rule
    const { stack: s, vpc } = stack();
    const a = new ec2.SecurityGroup(s, 'A', { vpc, allowAllOutbound: false });
    const b = lockedSecurityGroup(s, 'B', { vpc });
    a.connections.allowTo(b, ec2.Port.tcp(443));

    // THEN
    expect(findings(s)).toEqual(['Pipeline-SecurityGroupEgress']);
  });

  it('passes the same group made with lockedSecurityGroup', () => {
    const { stack: s, vpc } = stack();
    const a = lockedSecurityGroup(s, 'A', { vpc });
    const b = lockedSecurityGroup(s, 'B', { vpc });
    a.connections.allowTo(b, ec2.Port.tcp(443));
    expect(findings(s)).toEqual([]);
  });
});

describe('PipelineChecks: Keyspaces', () => {
  function table(props: Partial<cassandra.CfnTableProps>): Stack {
    const s = new Stack(new App(), 'Test');
    new cassandra.CfnTable(s, 'Table', { ...GOOD_TABLE, ...props });
    return s;
  }

  it('passes an on-demand table with PITR and stated encryption', () => {
    expect(findings(table({}))).toEqual([]);
  });

  it('fails a table without point-in-time recovery', () => {
    expect(findings(table({ pointInTimeRecoveryEnabled: false }))).toEqual(['Pipeline-KeyspacesPITR']);
  });

  it('accepts a table without PITR when the choice is acknowledged', () => {
    const s = table({ pointInTimeRecoveryEnabled: undefined });
    Validations.of(s).acknowledge({ id: 'Pipeline-KeyspacesPITR', reason: 'test' });
    expect(findings(s)).toEqual([]);
  });

  it('fails a table with provisioned capacity', () => {
    const s = table({
      billingMode: {
        mode: 'PROVISIONED',
        provisionedThroughput: { readCapacityUnits: 5, writeCapacityUnits: 5 },
      },
    });
    expect(findings(s)).toEqual(['Pipeline-KeyspacesOnDemand']);
  });

  it('fails a table with auto scaling', () => {
    const s = table({
      autoScalingSpecifications: { writeCapacityAutoScaling: { maximumUnits: 10, minimumUnits: 1 } },
    });
    expect(findings(s)).toEqual(['Pipeline-KeyspacesOnDemand']);
  });

  it('fails a table that leaves its encryption to the default', () => {
    expect(findings(table({ encryptionSpecification: undefined }))).toEqual(['Pipeline-KeyspacesEncryption']);
  });

  it('fails a customer managed key encryption without the key', () => {
    expect(
      findings(table({ encryptionSpecification: { encryptionType: 'CUSTOMER_MANAGED_KMS_KEY' } })),
    ).toEqual(['Pipeline-KeyspacesEncryption']);
  });
});
