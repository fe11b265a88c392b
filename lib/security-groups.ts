/**
 * `lockedSecurityGroup`: a security group with no egress but the rules added to it, for sure.
 *
 * CDK renders `allowAllOutbound: false` as a placeholder "disallow all" egress rule, and removes the placeholder
 * as soon as any egress rule is added. A rule towards another security group is a separate
 * `AWS::EC2::SecurityGroupEgress` resource, so the group itself is then rendered with no `SecurityGroupEgress`
 * at all, and EC2 gives a group created without egress rules its default allow-all egress rule
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroup.html).
 * This keeps the placeholder in the template whenever no inline egress rule is left, so the separate rules are
 * the only egress. The pipeline's `Pipeline-SecurityGroupEgress` check catches any group without it.
 */
import { Lazy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';

/** The placeholder CDK itself uses: ICMP type 252 code 86 to 255.255.255.255/32 matches no traffic. */
export const NO_TRAFFIC_EGRESS = {
  cidrIp: '255.255.255.255/32',
  description: 'Disallow all traffic',
  ipProtocol: 'icmp',
  fromPort: 252,
  toPort: 86,
} as const;

export function lockedSecurityGroup(
  scope: Construct,
  id: string,
  props: Omit<ec2.SecurityGroupProps, 'allowAllOutbound' | 'allowAllIpv6Outbound'>,
): ec2.SecurityGroup {
  const sg = new ec2.SecurityGroup(scope, id, { ...props, allowAllOutbound: false });
  const cfn = sg.node.defaultChild as ec2.CfnSecurityGroup;
  const rendered = cfn.securityGroupEgress;
  cfn.securityGroupEgress = Lazy.any({
    produce: () => {
      const rules: unknown = Stack.of(sg).resolve(rendered);
      return Array.isArray(rules) && rules.length > 0 ? rendered : [NO_TRAFFIC_EGRESS];
    },
  });
  return sg;
}
