import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { describe, expect, it } from 'vitest';
import { NO_TRAFFIC_EGRESS, lockedSecurityGroup } from '../../lib/security-groups';

function groups() {
  const stack = new Stack(new App(), 'Test');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, restrictDefaultSecurityGroup: false });
  return { stack, vpc };
}

/** The inline egress of the group whose description is `description`. */
function egressOf(stack: Stack, description: string): unknown {
  const found = Object.values(
    Template.fromStack(stack).findResources('AWS::EC2::SecurityGroup', {
      Properties: { GroupDescription: description },
    }),
  );
  expect(found).toHaveLength(1);
  return found[0]!['Properties']['SecurityGroupEgress'];
}

const NO_TRAFFIC = {
  CidrIp: NO_TRAFFIC_EGRESS.cidrIp,
  Description: NO_TRAFFIC_EGRESS.description,
  IpProtocol: NO_TRAFFIC_EGRESS.ipProtocol,
  FromPort: NO_TRAFFIC_EGRESS.fromPort,
  ToPort: NO_TRAFFIC_EGRESS.toPort,
};

describe('lockedSecurityGroup', () => {
  it('keeps the no-traffic egress when its only egress rules are towards other groups', () => {
    // GIVEN
    const { stack, vpc } = groups();
    const a = lockedSecurityGroup(stack, 'A', { vpc, description: 'a' });
    const b = lockedSecurityGroup(stack, 'B', { vpc, description: 'b' });

    // WHEN
    a.connections.allowTo(b, ec2.Port.tcp(9098));

    // THEN
    expect(egressOf(stack, 'a')).toEqual([NO_TRAFFIC]);
  });

  it('shows the trap it avoids: a plain CDK group renders no egress at all in the same case', () => {
    const { stack, vpc } = groups();
    const a = new ec2.SecurityGroup(stack, 'A', { vpc, description: 'a', allowAllOutbound: false });
    const b = lockedSecurityGroup(stack, 'B', { vpc, description: 'b' });
    a.connections.allowTo(b, ec2.Port.tcp(9098));
    expect(egressOf(stack, 'a')).toBeUndefined();
  });

  it('renders inline egress rules as they are, without the placeholder', () => {
    const { stack, vpc } = groups();
    const a = lockedSecurityGroup(stack, 'A', { vpc, description: 'a' });
    a.addEgressRule(ec2.Peer.ipv4('10.0.0.0/8'), ec2.Port.tcp(443), 'https');
    expect(egressOf(stack, 'a')).toEqual([
      { CidrIp: '10.0.0.0/8', Description: 'https', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 },
    ]);
  });

  it('allows no egress at all when nothing is added', () => {
    const { stack, vpc } = groups();
    lockedSecurityGroup(stack, 'A', { vpc, description: 'a' });
    expect(egressOf(stack, 'a')).toEqual([NO_TRAFFIC]);
  });
});
