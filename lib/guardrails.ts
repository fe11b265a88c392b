/**
 * `PipelineChecks`: a cdk-nag pack for what AwsSolutions does not check. Its MSK rules cover provisioned
 * clusters' TLS and logging only, and it has no Keyspaces rule at all.
 *
 * Rules (ids `Pipeline-<rule>`; acknowledge one with `Validations.of(x).acknowledge({ id, reason })`):
 * - `MSKIamAuth`: an MSK cluster, provisioned or serverless, accepts IAM clients and no unauthenticated or
 *   SCRAM ones.
 * - `MSKSecurityGroup`: an MSK cluster names its security groups (else it gets the VPC's default group), and
 *   no ingress rule of those groups, in any stack, is open to 0.0.0.0/0 or ::/0.
 * - `SecurityGroupEgress`: a security group states its egress. One rendered without any gets EC2's default
 *   allow-all egress, which CDK's `allowAllOutbound: false` does not prevent once its egress rules are separate
 *   resources (see `lib/security-groups.ts`).
 * - `KeyspacesPITR`: point-in-time recovery is on.
 * - `KeyspacesOnDemand`: on-demand capacity, no provisioned throughput or auto scaling.
 * - `KeyspacesEncryption`: the encryption at rest is stated (AWS owned key, or a customer managed key with its
 *   ARN), not left to a default.
 *
 * Register it next to AwsSolutions: `Validations.of(app).addPlugins(new PipelineChecks(app))`.
 */
import { CfnResource, Reference, Stack, Tokenization, type IResolvable } from 'aws-cdk-lib';
import * as cassandra from 'aws-cdk-lib/aws-cassandra';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as msk from 'aws-cdk-lib/aws-msk';
import { NagMessageLevel, NagPack, NagRuleCompliance, type NagPackProps, type NagRuleResult } from 'cdk-nag';
import type { IConstruct } from 'constructs';

export class PipelineChecks extends NagPack {
  readonly name = 'Pipeline';

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = 'Pipeline';
  }

  protected checkResource(node: CfnResource): void {
    const rule = (
      ruleSuffixOverride: string,
      info: string,
      explanation: string,
      check: (n: CfnResource) => NagRuleResult,
    ) =>
      this.applyRule({
        ruleSuffixOverride,
        info,
        explanation,
        level: NagMessageLevel.ERROR,
        rule: check,
        node,
      });
    rule(
      'MSKIamAuth',
      'The MSK cluster does not require IAM access control.',
      'The pipeline grants Kafka access with IAM policies (kafka-cluster:*); any other client auth bypasses them.',
      mskIamAuth,
    );
    rule(
      'MSKSecurityGroup',
      'The MSK cluster has no security group of its own, or one of its groups is open to the internet.',
      "Brokers must be reachable only by the pipeline's clients and its event source mappings.",
      mskSecurityGroup,
    );
    rule(
      'SecurityGroupEgress',
      'The security group has no egress rule in its definition, so EC2 gives it the default allow-all egress.',
      'Create it with lockedSecurityGroup (lib/security-groups.ts), or state its egress rules inline.',
      securityGroupEgress,
    );
    rule(
      'KeyspacesPITR',
      'The Keyspaces table does not have point-in-time recovery on.',
      'PITR restores a table to any second of the last 35 days after a bad write or a bad deploy.',
      keyspacesPitr,
    );
    rule(
      'KeyspacesOnDemand',
      'The Keyspaces table uses provisioned capacity or auto scaling.',
      'Provisioned capacity bills every hour whether used or not and throttles bursts; the pipeline is on-demand.',
      keyspacesOnDemand,
    );
    rule(
      'KeyspacesEncryption',
      'The Keyspaces table does not state its encryption at rest.',
      'State AWS_OWNED_KMS_KEY or CUSTOMER_MANAGED_KMS_KEY (with its key) so that the choice is reviewable.',
      keyspacesEncryption,
    );
  }
}

function resolve(node: CfnResource, value: unknown): unknown {
  return Stack.of(node).resolve(value);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a nested property of a resolved L1 value, e.g. `get(x, 'Sasl', 'Iam', 'Enabled')`. */
function get(value: unknown, ...path: string[]): unknown {
  let node = value;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

function mskIamAuth(node: CfnResource): NagRuleResult {
  if (!(node instanceof msk.CfnCluster) && !(node instanceof msk.CfnServerlessCluster)) {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const auth = resolve(node, node.clientAuthentication);
  const iam = get(auth, 'sasl', 'iam', 'enabled') ?? get(auth, 'Sasl', 'Iam', 'Enabled');
  if (iam !== true) return NagRuleCompliance.NON_COMPLIANT;
  if (node instanceof msk.CfnCluster) {
    const scram = get(auth, 'sasl', 'scram', 'enabled') ?? get(auth, 'Sasl', 'Scram', 'Enabled');
    const unauthenticated =
      get(auth, 'unauthenticated', 'enabled') ?? get(auth, 'Unauthenticated', 'Enabled');
    const tls = get(auth, 'tls', 'enabled') ?? get(auth, 'Tls', 'Enabled');
    if (scram === true || unauthenticated === true || tls === true) return NagRuleCompliance.NON_COMPLIANT;
  }
  return NagRuleCompliance.COMPLIANT;
}

/** The security group tokens an MSK cluster names, unresolved. */
function mskSecurityGroupTokens(node: msk.CfnCluster | msk.CfnServerlessCluster): unknown[] {
  if (node instanceof msk.CfnCluster) {
    const info = node.brokerNodeGroupInfo as msk.CfnCluster.BrokerNodeGroupInfoProperty | IResolvable;
    return 'securityGroups' in info ? [...(info.securityGroups ?? [])] : [];
  }
  const configs = node.vpcConfigs;
  if (!Array.isArray(configs)) return [];
  return configs.flatMap((c: msk.CfnServerlessCluster.VpcConfigProperty | IResolvable) =>
    'subnetIds' in c ? [...(c.securityGroups ?? [])] : [],
  );
}

/** The CfnSecurityGroup a `securityGroupId` token refers to, if it refers to one. */
function securityGroupOf(token: unknown): ec2.CfnSecurityGroup | undefined {
  if (typeof token !== 'string') return undefined;
  const reversed = Tokenization.reverse(token);
  if (reversed instanceof Reference && reversed.target instanceof ec2.CfnSecurityGroup)
    return reversed.target;
  return undefined;
}

const WORLD = new Set(['0.0.0.0/0', '::/0']);

function worldOpen(rule: unknown): boolean {
  if (!isObject(rule)) return false;
  const cidr = rule['cidrIp'] ?? rule['CidrIp'];
  const cidr6 = rule['cidrIpv6'] ?? rule['CidrIpv6'];
  return (typeof cidr === 'string' && WORLD.has(cidr)) || (typeof cidr6 === 'string' && WORLD.has(cidr6));
}

function mskSecurityGroup(node: CfnResource): NagRuleResult {
  if (!(node instanceof msk.CfnCluster) && !(node instanceof msk.CfnServerlessCluster)) {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const tokens = mskSecurityGroupTokens(node);
  if (tokens.length === 0) return NagRuleCompliance.NON_COMPLIANT;
  const groups = tokens.map(securityGroupOf);
  // A group this app does not define (an imported ID) cannot be checked here: refuse rather than assume.
  if (groups.some((g) => g === undefined)) return NagRuleCompliance.NON_COMPLIANT;
  const targets = new Set(groups);
  for (const group of targets) {
    const inline = Stack.of(group!).resolve(group!.securityGroupIngress);
    if (Array.isArray(inline) && inline.some(worldOpen)) return NagRuleCompliance.NON_COMPLIANT;
  }
  // Separate ingress rules may live in any stack of the app (CDK puts cross-stack rules in the peer's stack).
  for (const construct of node.node.root.node.findAll()) {
    if (!(construct instanceof ec2.CfnSecurityGroupIngress)) continue;
    const target = securityGroupOf(construct.groupId);
    if (
      target &&
      targets.has(target) &&
      worldOpen({ cidrIp: construct.cidrIp, cidrIpv6: construct.cidrIpv6 })
    ) {
      return NagRuleCompliance.NON_COMPLIANT;
    }
  }
  return NagRuleCompliance.COMPLIANT;
}

function securityGroupEgress(node: CfnResource): NagRuleResult {
  if (!(node instanceof ec2.CfnSecurityGroup)) return NagRuleCompliance.NOT_APPLICABLE;
  const egress = resolve(node, node.securityGroupEgress);
  return Array.isArray(egress) && egress.length > 0
    ? NagRuleCompliance.COMPLIANT
    : NagRuleCompliance.NON_COMPLIANT;
}

function keyspacesPitr(node: CfnResource): NagRuleResult {
  if (!(node instanceof cassandra.CfnTable)) return NagRuleCompliance.NOT_APPLICABLE;
  return resolve(node, node.pointInTimeRecoveryEnabled) === true
    ? NagRuleCompliance.COMPLIANT
    : NagRuleCompliance.NON_COMPLIANT;
}

function keyspacesOnDemand(node: CfnResource): NagRuleResult {
  if (!(node instanceof cassandra.CfnTable)) return NagRuleCompliance.NOT_APPLICABLE;
  const billing = resolve(node, node.billingMode);
  const mode = get(billing, 'mode') ?? get(billing, 'Mode');
  const throughput = get(billing, 'provisionedThroughput') ?? get(billing, 'ProvisionedThroughput');
  // Keyspaces defaults to on-demand when BillingMode is left out.
  const onDemand = billing === undefined || (mode === 'ON_DEMAND' && throughput === undefined);
  const autoScaling = resolve(node, node.autoScalingSpecifications);
  return onDemand && autoScaling === undefined
    ? NagRuleCompliance.COMPLIANT
    : NagRuleCompliance.NON_COMPLIANT;
}

function keyspacesEncryption(node: CfnResource): NagRuleResult {
  if (!(node instanceof cassandra.CfnTable)) return NagRuleCompliance.NOT_APPLICABLE;
  const spec = resolve(node, node.encryptionSpecification);
  const type = get(spec, 'encryptionType') ?? get(spec, 'EncryptionType');
  const key = get(spec, 'kmsKeyIdentifier') ?? get(spec, 'KmsKeyIdentifier');
  if (type === 'AWS_OWNED_KMS_KEY') return NagRuleCompliance.COMPLIANT;
  if (type === 'CUSTOMER_MANAGED_KMS_KEY' && key !== undefined) return NagRuleCompliance.COMPLIANT;
  return NagRuleCompliance.NON_COMPLIANT;
}
