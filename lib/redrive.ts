/**
 * `SkippedRangeRedrive`: the redrive function of one job (`redriveHandlerFor` of `lambda/handlers/redrive.ts`, bound
 * to the job's code). On a schedule, and on
 * demand, it drains the job's on-failure queue into skipped ranges and re-applies every pending range, read back
 * from MSK, exactly once.
 *
 * Network: in the VPC, in a security group whose only egress is the brokers' IAM port and the interface
 * endpoints it needs (SQS on 443, Keyspaces on 9142): the cluster is reachable only there, and the VPC has no
 * route to the internet.
 *
 * IAM, exactly:
 * - `sqs:ReceiveMessage`, `sqs:DeleteMessage`, `sqs:ChangeMessageVisibility` on the job's on-failure queue, and
 *   `kms:Decrypt` on its key (SQS decrypts with the receiver's permission);
 * - `kafka-cluster:Connect`, `DescribeTopic` + `ReadData` on the job's topics, and `DescribeGroup` + `AlterGroup`
 *   on the one group the redrive reads with (`<group>-redrive`; a reserved concurrency of 1 keeps two runs from
 *   sharing it);
 * - `cassandra:Select` + `Modify` on the job's tables and the runtime's, `Select` on the system tables the driver
 *   reads;
 * - `ec2:DescribeVpcEndpoints` on `*`, with which Keyspaces lists its interface endpoint in `system.peers`, and
 *   (`PipelineFunction`, for a function in the VPC) the ENI actions of AWSLambdaVPCAccessExecutionRole on `*`.
 */
import { Duration, Token, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BOOTSTRAP_BROKERS_ENV, REDRIVE_ENV, redriveGroupId } from '../config/env';
import { redriveEntry } from './entries';
import { PipelineFunction } from './functions';
import type { IKafkaCluster } from './kafka/cluster';
import { grantKeyspacesSystemRead, type IKeyspacesTable } from './keyspaces';
import { HTTPS, KEYSPACES_PORT } from './network';
import { lockedSecurityGroup } from './security-groups';

export interface SkippedRangeRedriveProps {
  /** The job name. */
  readonly job: string;
  /** The job's file, relative to the repository root (`lambda/jobs/<job>.ts`): its default export is the job. */
  readonly jobEntry: string;
  readonly cluster: IKafkaCluster;
  /** The topics the job reads. */
  readonly topics: readonly string[];
  /** The job's consumer group id: the redrive reads with a group of its own, `<id>-redrive`. */
  readonly consumerGroupId: string;
  /** The job's on-failure queue, and the key it is encrypted with. */
  readonly queue: sqs.IQueue;
  readonly queueKey: kms.IKey;
  /** The tables the job writes, the runtime's included. */
  readonly tables: readonly IKeyspacesTable[];
  readonly vpc: ec2.IVpc;
  /** Subnets with a route to the brokers and to the interface endpoints. */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** The security group of the VPC's interface endpoints (SQS, Keyspaces). */
  readonly endpointSecurityGroup: ec2.ISecurityGroup;
  /** The job's environment, as its consumer has it (the runtime's `MICROBATCH_*` contract). */
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  /**
   * How often it runs by itself, from 1 minute to 1 day. A run that finds the previous one still going (one
   * runs at a time) is dropped, not queued: the next run does the same work.
   *
   * @default Duration.minutes(15)
   */
  readonly every?: Duration;
  /**
   * Run only when the function is invoked (`aws lambda invoke`, output `RedriveFunction<job>`), with no
   * schedule. `every` must then be left out.
   *
   * @default false - it runs on the schedule `every`
   */
  readonly onDemandOnly?: boolean;
}

export class SkippedRangeRedrive extends Construct {
  readonly handler: PipelineFunction;
  readonly securityGroup: ec2.SecurityGroup;
  readonly rule: events.Rule | undefined;

  constructor(scope: Construct, id: string, props: SkippedRangeRedriveProps) {
    super(scope, id);
    if (props.onDemandOnly && props.every) {
      throw new Error(
        `SkippedRangeRedrive every is ${props.every.toHumanString()} with onDemandOnly: a redrive that runs on ` +
          'demand only has no schedule. Leave out every, or onDemandOnly.',
      );
    }
    const every = props.onDemandOnly ? undefined : (props.every ?? Duration.minutes(15));
    if (
      every &&
      !Token.isUnresolved(every.toMinutes()) &&
      (every.toMinutes() < 1 || every.toMinutes() > 1440)
    ) {
      throw new Error(
        `SkippedRangeRedrive every is ${every.toHumanString()}: use 1 minute to 1 day, or onDemandOnly: true to ` +
          'run the redrive on demand only.',
      );
    }

    this.securityGroup = lockedSecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Redrive of ${props.job}: MSK brokers (IAM/TLS), SQS and Keyspaces endpoints only`,
    });
    this.securityGroup.connections.allowToDefaultPort(props.cluster, 'Redrive to the brokers');
    this.securityGroup.connections.allowTo(props.endpointSecurityGroup, HTTPS, 'Redrive to the SQS endpoint');
    this.securityGroup.connections.allowTo(
      props.endpointSecurityGroup,
      KEYSPACES_PORT,
      'Redrive to the Keyspaces endpoint',
    );

    this.handler = new PipelineFunction(this, 'Handler', {
      entry: redriveEntry(props.job, props.jobEntry),
      description: `Redrives the offsets the event source skipped for job ${props.job}`,
      logRetention: props.logRetention,
      memorySize: 512,
      timeout: Duration.minutes(14),
      // One run at a time: runs share their consumer group, and two would only redo each other's work.
      reservedConcurrentExecutions: 1,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [this.securityGroup],
      environment: {
        ...props.environment,
        [BOOTSTRAP_BROKERS_ENV]: props.cluster.bootstrapBrokers,
        [REDRIVE_ENV.queueUrl]: props.queue.queueUrl,
      },
    });
    const role = this.handler.role;

    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
      resourceArns: [props.queue.queueArn],
    });
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['kms:Decrypt'],
      resourceArns: [props.queueKey.keyArn],
    });

    props.cluster.grantConsume(role, props.topics, [redriveGroupId(props.consumerGroupId)]);

    for (const table of props.tables) table.grantReadWriteData(role);
    grantKeyspacesSystemRead(this, role);
    // In the VPC the driver reaches Keyspaces through the interface endpoint, where system.peers lists the
    // endpoint's addresses (one per AZ) only if the client's role may look them up; without them the driver knows
    // one host, and balances over nothing. https://docs.aws.amazon.com/keyspaces/latest/devguide/vpc-endpoints.html#system_peers
    // (ec2:DescribeNetworkInterfaces, the lookup's other half, the function has already, to manage its ENIs.)
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['ec2:DescribeVpcEndpoints'],
      resourceArns: ['*'],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'A function in a VPC manages its ENIs with its execution role (the ec2 actions of ' +
        'AWSLambdaVPCAccessExecutionRole), and Keyspaces fills system.peers through its interface endpoint only ' +
        'for a role that may call ec2:DescribeNetworkInterfaces and ec2:DescribeVpcEndpoints; these Describe ' +
        'actions have no resource-level scoping ' +
        '(https://docs.aws.amazon.com/keyspaces/latest/devguide/vpc-endpoints.html#system_peers).',
    });

    if (every) {
      this.rule = new events.Rule(this, 'Schedule', {
        description: `Runs the redrive of job ${props.job}`,
        schedule: events.Schedule.rate(every),
      });
      // A missed run is not worth retrying: the next one does the same work.
      this.rule.addTarget(new targets.LambdaFunction(this.handler.function, { retryAttempts: 0 }));
      // Nor on Lambda's side: an asynchronous invocation that fails is retried twice by default, and one throttled
      // by the reserved concurrency of 1 (the previous run still going) is kept for up to 6 hours. Neither
      // outlives the next scheduled run. https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
      this.handler.function.configureAsyncInvoke({
        retryAttempts: 0,
        maxEventAge: Duration.seconds(Math.min(Math.max(every.toSeconds(), 60), 6 * 3600)),
      });
    }
  }
}
