/**
 * `MskCluster`: the pipeline's Kafka, MSK provisioned or MSK Serverless, always with IAM access control.
 *
 * Provisioned: IAM auth only (no unauthenticated or SCRAM listener), TLS between clients and brokers and
 * inside the cluster, encryption at rest with a customer managed key, broker logs to CloudWatch.
 * Serverless: IAM auth (the only mode it has), TLS and encryption at rest always on.
 * https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html
 *
 * Security group: brokers listen for IAM clients on 9098 (both kinds of cluster). The group opens 9098 to
 * itself only, because the event source mapping's ENIs use the cluster's own security group
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-msk-cluster-network.html), and to the security groups
 * of the clients that `connections.allowDefaultPortFrom` names. Its egress is 9098 to itself (ESM to brokers)
 * and 443 to the VPC's interface endpoints, nothing else.
 *
 * Bootstrap brokers: read at deploy time by an AwsCustomResource calling `kafka:GetBootstrapBrokers` (outside
 * the VPC, so no `kafka` interface endpoint is needed), and handed to the in-VPC clients as an environment
 * variable. Synth stays offline: the value is a CloudFormation attribute, not a lookup.
 *
 * IAM: `grant*` methods grant exact `kafka-cluster:` actions on the cluster, topic and group ARNs, whose formats
 * are `arn:aws:kafka:<region>:<account>:{cluster|topic|group}/<cluster name>/<cluster uuid>[/<name>]`.
 * https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html
 *
 * Other stacks: `publishParameters` writes the cluster's deploy-time identity (ARN, UUID, bootstrap brokers) to
 * SSM parameters, and `MskCluster.fromParameters` reads it back in another stack as an `IKafkaCluster`, which
 * CloudFormation resolves again at every deploy of that stack: why, in docs/cloud.md ("Cross-stack references").
 */
import { CfnDeletionPolicy, Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as msk from 'aws-cdk-lib/aws-msk';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import type { KafkaMode } from '../../config';
import { lockedSecurityGroup } from '../security-groups';

/** The broker port of the IAM listener, on provisioned clusters and on MSK Serverless. */
export const IAM_BROKER_PORT = 9098;

/** A Kafka cluster the pipeline can read from and write to with IAM. */
export interface IKafkaCluster extends IConstruct, ec2.IConnectable {
  readonly mode: KafkaMode;
  readonly clusterArn: string;
  /** The name part of the cluster's ARN (and of its topic and group ARNs). */
  readonly clusterName: string;
  /** The UUID part of the cluster's ARN (and of its topic and group ARNs); a deploy-time value. */
  readonly clusterUuid: string;
  /** The IAM listener's bootstrap brokers, `host:9098,...`; a deploy-time value. */
  readonly bootstrapBrokers: string;
  readonly securityGroup: ec2.ISecurityGroup;
  /** The ARN of a topic, for `kafka-cluster:` actions on it. */
  topicArn(topic: string): string;
  /** The ARN of a consumer group, for `kafka-cluster:` actions on it. */
  groupArn(groupId: string): string;
  /** Read `topics` as consumer groups `groupIds` (what a Kafka event source mapping does with IAM). */
  grantConsume(grantee: iam.IGrantable, topics: readonly string[], groupIds: readonly string[]): void;
  /** The ARN of a consumer group of this cluster (`groupId` may end in `*`). */
  groupArn(groupId: string): string;
  /** Write to `topics`. */
  grantProduce(grantee: iam.IGrantable, topics: readonly string[]): void;
  /** Create `topics`, grow their partitions and read their configuration. */
  grantTopicAdmin(grantee: iam.IGrantable, topics: readonly string[]): void;
  /** What Lambda needs, on the execution role, to run an event source mapping on this cluster. */
  grantEventSourceMapping(grantee: iam.IGrantable): iam.Grant;
}

export interface MskClusterProps {
  /** `provisioned` (brokers you size) or `serverless`. */
  readonly mode: KafkaMode;
  /** The cluster name; MSK requires one. Prefix it with the stage. */
  readonly clusterName: string;
  readonly vpc: ec2.IVpc;
  /** The subnets of the brokers (provisioned) or of the cluster's ENIs (serverless); at least two AZs. */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** Retention of the broker logs and of the bootstrap-broker lookup's logs. */
  readonly logRetention: logs.RetentionDays;
  /**
   * The MSK Kafka version (provisioned only).
   *
   * @default '3.9.x'
   */
  readonly kafkaVersion?: string;
  /**
   * @default 'kafka.t3.small'
   */
  readonly brokerInstanceType?: string;
  /**
   * A multiple of the number of AZs of `vpcSubnets` (provisioned only).
   *
   * @default 2
   */
  readonly brokerCount?: number;
  /**
   * EBS volume per broker in GiB (provisioned only).
   *
   * @default 10
   */
  readonly brokerStorageGiB?: number;
  /**
   * The key that encrypts the brokers' volumes (provisioned only; MSK Serverless always uses its own key).
   *
   * @default - a new customer managed key with yearly rotation
   */
  readonly encryptionKey?: kms.IKey;
}

const CLUSTER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,63}$/;

/**
 * The grants of an `IKafkaCluster`, shared by the cluster itself (`MskCluster`) and its reference in another
 * stack (`MskCluster.fromParameters`).
 */
abstract class KafkaClusterBase extends Construct implements IKafkaCluster {
  abstract readonly mode: KafkaMode;
  abstract readonly clusterArn: string;
  abstract readonly clusterName: string;
  abstract readonly clusterUuid: string;
  abstract readonly bootstrapBrokers: string;
  abstract readonly securityGroup: ec2.ISecurityGroup;
  abstract readonly connections: ec2.Connections;

  /** `arn:<partition>:kafka:<region>:<account>:<kind>/<cluster name>/<cluster uuid>/<name>`. */
  private resourceArn(kind: 'topic' | 'group', name: string): string {
    if (!Token.isUnresolved(name) && !/^[a-zA-Z0-9._*\-/:+=@]{1,255}$/.test(name)) {
      throw new Error(`MskCluster ${kind} name '${name}' cannot appear in an IAM resource ARN.`);
    }
    // From the name and UUID as whole values: in another stack they are SSM parameters, which a function such as
    // Fn::Split of an imported value would not accept in every position (cfn-lint E1022).
    const stack = Stack.of(this);
    return `arn:${stack.partition}:kafka:${stack.region}:${stack.account}:${kind}/${this.clusterName}/${this.clusterUuid}/${name}`;
  }

  topicArn(topic: string): string {
    return this.resourceArn('topic', topic);
  }

  groupArn(groupId: string): string {
    return this.resourceArn('group', groupId);
  }

  private grantConnect(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:Connect'],
      resourceArns: [this.clusterArn],
    });
  }

  grantConsume(grantee: iam.IGrantable, topics: readonly string[], groupIds: readonly string[]): void {
    requireNames('grantConsume topics', topics);
    requireNames('grantConsume groupIds', groupIds);
    this.grantConnect(grantee);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
      resourceArns: topics.map((t) => this.topicArn(t)),
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
      resourceArns: groupIds.map((g) => this.groupArn(g)),
    });
  }

  grantProduce(grantee: iam.IGrantable, topics: readonly string[]): void {
    requireNames('grantProduce topics', topics);
    this.grantConnect(grantee);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
      resourceArns: topics.map((t) => this.topicArn(t)),
    });
  }

  grantTopicAdmin(grantee: iam.IGrantable, topics: readonly string[]): void {
    requireNames('grantTopicAdmin topics', topics);
    this.grantConnect(grantee);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:CreateTopic', 'kafka-cluster:DescribeTopic', 'kafka-cluster:AlterTopic'],
      resourceArns: topics.map((t) => this.topicArn(t)),
    });
  }

  grantEventSourceMapping(grantee: iam.IGrantable): iam.Grant {
    // The cluster permissions of AWSLambdaMSKExecutionRole, on this cluster only. DescribeClusterV2 instead of
    // DescribeCluster: it covers provisioned and serverless clusters alike.
    // https://docs.aws.amazon.com/lambda/latest/dg/with-msk-permissions.html
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers'],
      resourceArns: [this.clusterArn],
    });
    // With IAM authentication the pollers also read the cluster's dynamic configuration, which the managed
    // policy does not grant: https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html (IAM
    // role-based authentication). Its topic and group actions are `grantConsume`'s.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:DescribeClusterDynamicConfiguration'],
      resourceArns: [this.clusterArn],
    });
    // The ESM creates its ENIs in the cluster's subnets with the execution role; these actions need '*'.
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeVpcs',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeSubnets',
        'ec2:DescribeSecurityGroups',
      ],
      resourceArns: ['*'],
    });
  }
}

export class MskCluster extends KafkaClusterBase {
  readonly mode: KafkaMode;
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly clusterUuid: string;
  readonly bootstrapBrokers: string;
  readonly securityGroup: ec2.SecurityGroup;
  readonly connections: ec2.Connections;
  /** The CloudFormation resource, `AWS::MSK::Cluster` or `AWS::MSK::ServerlessCluster`. */
  readonly resource: msk.CfnCluster | msk.CfnServerlessCluster;
  readonly brokerLogGroup: logs.LogGroup | undefined;
  readonly encryptionKey: kms.IKey | undefined;

  constructor(scope: Construct, id: string, props: MskClusterProps) {
    super(scope, id);
    validateProps(props);
    this.mode = props.mode;
    this.clusterName = props.clusterName;

    this.securityGroup = lockedSecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `MSK ${props.mode} cluster ${props.clusterName}: IAM/TLS on ${IAM_BROKER_PORT} from its own clients only`,
    });
    const port = ec2.Port.tcp(IAM_BROKER_PORT);
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup], defaultPort: port });
    // The event source mapping's ENIs carry this security group: they reach the brokers through this rule.
    this.securityGroup.addIngressRule(this.securityGroup, port, 'Event source mapping ENIs (self-reference)');
    this.securityGroup.addEgressRule(this.securityGroup, port, 'Event source mapping ENIs to the brokers');

    const subnetIds = props.vpc.selectSubnets(props.vpcSubnets).subnetIds;
    if (props.mode === 'provisioned') {
      this.encryptionKey =
        props.encryptionKey ??
        new kms.Key(this, 'DataKey', {
          description: `Encrypts the broker volumes of MSK cluster ${props.clusterName}`,
          enableKeyRotation: true,
          removalPolicy: RemovalPolicy.DESTROY,
          pendingWindow: Duration.days(7),
        });
      this.brokerLogGroup = new logs.LogGroup(this, 'BrokerLogs', {
        retention: props.logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.resource = new msk.CfnCluster(this, 'Resource', {
        clusterName: props.clusterName,
        kafkaVersion: props.kafkaVersion ?? '3.9.x',
        numberOfBrokerNodes: props.brokerCount ?? 2,
        brokerNodeGroupInfo: {
          clientSubnets: subnetIds,
          instanceType: props.brokerInstanceType ?? 'kafka.t3.small',
          securityGroups: [this.securityGroup.securityGroupId],
          storageInfo: { ebsStorageInfo: { volumeSize: props.brokerStorageGiB ?? 10 } },
        },
        clientAuthentication: {
          sasl: { iam: { enabled: true }, scram: { enabled: false } },
          unauthenticated: { enabled: false },
        },
        encryptionInfo: {
          encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
          encryptionAtRest: { dataVolumeKmsKeyId: this.encryptionKey.keyArn },
        },
        loggingInfo: {
          brokerLogs: { cloudWatchLogs: { enabled: true, logGroup: this.brokerLogGroup.logGroupName } },
        },
      });
    } else {
      this.resource = new msk.CfnServerlessCluster(this, 'Resource', {
        clusterName: props.clusterName,
        clientAuthentication: { sasl: { iam: { enabled: true } } },
        vpcConfigs: [{ subnetIds, securityGroups: [this.securityGroup.securityGroupId] }],
      });
    }
    // A replacement (e.g. a renamed cluster) must never delete the old cluster and its topics' data; stack
    // deletion (`cdk destroy`) still deletes the cluster.
    this.resource.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;
    this.resource.cfnOptions.deletionPolicy = CfnDeletionPolicy.DELETE;
    Validations.of(this.resource).acknowledge({
      id: 'CloudFormation-Validate::W3011',
      reason:
        'Deliberate: a replacement keeps the old cluster (UpdateReplacePolicy Retain), while cdk destroy ' +
        'deletes it (DeletionPolicy Delete) so that no broker keeps billing after the stack is gone.',
    });
    this.clusterArn = this.resource.attrArn;
    // `arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>`: Split of a local GetAtt, in this stack.
    this.clusterUuid = Fn.select(2, Fn.split('/', this.clusterArn));

    this.bootstrapBrokers = this.lookUpBootstrapBrokers(props.logRetention);
  }

  /**
   * Reads a cluster that another stack published with `publishParameters`, as an `IKafkaCluster` of `scope`'s
   * stack. Order that stack after the publishing one (`addDependency`): nothing else does, since no
   * CloudFormation reference links them.
   */
  static fromParameters(scope: Construct, id: string, attrs: KafkaClusterAttributes): IKafkaCluster {
    return new KafkaClusterFromParameters(scope, id, attrs);
  }

  /**
   * Publishes the ARN, UUID and bootstrap brokers (what a replacement of the cluster changes) as SSM String
   * parameters under `prefix`, for `MskCluster.fromParameters` in other stacks.
   */
  publishParameters(prefix: string): KafkaClusterAttributes {
    const parameters = kafkaClusterParameterNames(prefix);
    const values: Record<keyof KafkaClusterParameterNames, [string, string]> = {
      clusterArn: [this.clusterArn, 'ARN'],
      clusterUuid: [this.clusterUuid, 'UUID (the last part of its ARN)'],
      bootstrapBrokers: [this.bootstrapBrokers, 'IAM/TLS bootstrap brokers'],
    };
    for (const [key, [value, what]] of Object.entries(values) as [
      keyof KafkaClusterParameterNames,
      [string, string],
    ][]) {
      new ssm.StringParameter(this, `Parameter-${key}`, {
        parameterName: parameters[key],
        stringValue: value,
        description: `MSK cluster ${this.clusterName}: ${what}, read by the stacks that use the cluster`,
      });
    }
    return { mode: this.mode, clusterName: this.clusterName, securityGroup: this.securityGroup, parameters };
  }

  private lookUpBootstrapBrokers(retention: logs.RetentionDays): string {
    const logGroup = new logs.LogGroup(this, 'BootstrapBrokersLogs', {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of our own instead of the provider's default one, which carries AWSLambdaBasicExecutionRole.
    const role = new iam.Role(this, 'BootstrapBrokersRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Reads the bootstrap brokers of ${this.clusterName} at deploy time`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const call: cr.AwsSdkCall = {
      service: 'Kafka',
      action: 'GetBootstrapBrokers',
      parameters: { ClusterArn: this.clusterArn },
      physicalResourceId: cr.PhysicalResourceId.of(this.clusterArn),
      outputPaths: ['BootstrapBrokerStringSaslIam'],
    };
    const lookup = new cr.AwsCustomResource(this, 'BootstrapBrokers', {
      onCreate: call,
      onUpdate: call,
      role,
      logGroup,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [this.clusterArn] }),
      ]),
    });
    return lookup.getResponseField('BootstrapBrokerStringSaslIam');
  }
}

/** The SSM parameters under which a cluster's deploy-time identity is published for other stacks. */
export interface KafkaClusterParameterNames {
  readonly clusterArn: string;
  readonly clusterUuid: string;
  readonly bootstrapBrokers: string;
}

/** `<prefix>/cluster-arn`, `<prefix>/cluster-uuid`, `<prefix>/bootstrap-brokers`. */
export function kafkaClusterParameterNames(prefix: string): KafkaClusterParameterNames {
  // SSM parameter names: https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html
  if (!/^(\/[a-zA-Z0-9_.-]+)+$/.test(prefix) || prefix.length > 900) {
    throw new Error(
      `Kafka cluster parameter prefix must be a path such as '/microbatch/dev/kafka' (segments of letters, ` +
        `digits, '_', '.', '-'), received '${prefix}'.`,
    );
  }
  return {
    clusterArn: `${prefix}/cluster-arn`,
    clusterUuid: `${prefix}/cluster-uuid`,
    bootstrapBrokers: `${prefix}/bootstrap-brokers`,
  };
}

/**
 * What another stack needs to use a cluster (`MskCluster.fromParameters`): the parameters that carry the parts
 * a replacement changes, and the parts it does not (mode, name, security group).
 */
export interface KafkaClusterAttributes {
  readonly mode: KafkaMode;
  readonly clusterName: string;
  /** The cluster's security group; a strong cross-stack reference (a cluster replacement keeps it). */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly parameters: KafkaClusterParameterNames;
}

/** A cluster of another stack, whose ARN, UUID and brokers CloudFormation reads from SSM at each deploy. */
class KafkaClusterFromParameters extends KafkaClusterBase {
  readonly mode: KafkaMode;
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly clusterUuid: string;
  readonly bootstrapBrokers: string;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly connections: ec2.Connections;

  constructor(scope: Construct, id: string, attrs: KafkaClusterAttributes) {
    super(scope, id);
    this.mode = attrs.mode;
    this.clusterName = attrs.clusterName;
    this.securityGroup = attrs.securityGroup;
    this.connections = new ec2.Connections({
      securityGroups: [attrs.securityGroup],
      defaultPort: ec2.Port.tcp(IAM_BROKER_PORT),
    });
    // `AWS::SSM::Parameter::Value<String>` parameters: CloudFormation reads the current value at every create
    // and update (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html),
    // and the CDK CLI never skips the deploy of a stack that has one (its deploy check "some parameters come
    // from SSM"), so the next `cdk deploy` after a cluster replacement picks up the new cluster.
    const read = (name: string) => ssm.StringParameter.valueForStringParameter(this, name);
    this.clusterArn = read(attrs.parameters.clusterArn);
    this.clusterUuid = read(attrs.parameters.clusterUuid);
    this.bootstrapBrokers = read(attrs.parameters.bootstrapBrokers);
  }
}

function requireNames(what: string, names: readonly string[]): void {
  if (names.length === 0) throw new Error(`MskCluster.${what} is empty: name at least one.`);
}

function validateProps(props: MskClusterProps): void {
  if (!Token.isUnresolved(props.clusterName) && !CLUSTER_NAME.test(props.clusterName)) {
    throw new Error(
      `MskCluster clusterName must be 1-64 letters, digits or dashes starting with a letter or digit, ` +
        `received '${props.clusterName}'.`,
    );
  }
  const count = props.brokerCount;
  if (props.mode === 'serverless') {
    for (const key of [
      'kafkaVersion',
      'brokerInstanceType',
      'brokerCount',
      'brokerStorageGiB',
      'encryptionKey',
    ] as const) {
      if (props[key] !== undefined) {
        throw new Error(
          `MskCluster ${key} applies to provisioned clusters only; remove it for mode 'serverless'.`,
        );
      }
    }
  } else if (count !== undefined && !Token.isUnresolved(count)) {
    const azs = new Set(props.vpc.selectSubnets(props.vpcSubnets).availabilityZones).size;
    if (count < 2 || (azs > 0 && count % azs !== 0)) {
      throw new Error(
        `MskCluster brokerCount must be a multiple of the ${azs} AZs of vpcSubnets, received ${count}.`,
      );
    }
  }
}
