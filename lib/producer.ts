/**
 * `ScheduledProducer`: the tutorial's producer. An EventBridge rule invokes the function every minute; each
 * run sends the current time `ratePerSecond` times a second for about 60 s to one topic
 * (`lambda/handlers/producer.ts`), with kafkajs over MSK IAM.
 *
 * The function is in the VPC (the brokers are only reachable there), in a security group whose only egress is
 * the brokers' IAM port; the cluster's security group opens that port to it. It needs nothing else: the MSK
 * IAM token is signed locally from the function's credentials.
 */
import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PipelineFunction } from './functions';
import { lockedSecurityGroup } from './security-groups';
import type { IKafkaCluster } from './kafka/cluster';
import { BOOTSTRAP_BROKERS_ENV, PRODUCER_ENV } from '../config/env';

export interface ScheduledProducerProps {
  readonly cluster: IKafkaCluster;
  readonly topic: string;
  /** Messages per second, 1 to 100. */
  readonly ratePerSecond: number;
  readonly vpc: ec2.IVpc;
  /** Subnets with a route to the brokers. */
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly logRetention: logs.RetentionDays;
  /**
   * How long each run produces, at most 14 minutes; keep it at most the schedule's period.
   *
   * @default Duration.seconds(60)
   */
  readonly runDuration?: Duration;
  /**
   * @default events.Schedule.rate(Duration.minutes(1))
   */
  readonly schedule?: events.Schedule;
}

export class ScheduledProducer extends Construct {
  readonly handler: PipelineFunction;
  readonly rule: events.Rule;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ScheduledProducerProps) {
    super(scope, id);
    if (
      !Token.isUnresolved(props.ratePerSecond) &&
      (!Number.isInteger(props.ratePerSecond) || props.ratePerSecond < 1 || props.ratePerSecond > 100)
    ) {
      throw new Error(
        `ScheduledProducer ratePerSecond must be an integer from 1 to 100, received ${props.ratePerSecond}.`,
      );
    }
    const run = props.runDuration ?? Duration.seconds(60);
    if (run.toSeconds() < 1 || run.toSeconds() > 840) {
      throw new Error(
        `ScheduledProducer runDuration must be 1 s to 14 min, received ${run.toHumanString()}.`,
      );
    }

    this.securityGroup = lockedSecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Scheduled producer: MSK brokers (IAM/TLS) only',
    });
    // From the client's side: CDK then puts the cluster's ingress rule in this (the client's) stack.
    this.securityGroup.connections.allowToDefaultPort(props.cluster, 'Scheduled producer to the brokers');

    this.handler = new PipelineFunction(this, 'Handler', {
      entry: 'lambda/handlers/producer.ts',
      description: `Sends the current time to topic ${props.topic}, ${props.ratePerSecond}/s`,
      logRetention: props.logRetention,
      memorySize: 256,
      // The run, the connection and a margin; the handler stops 5 s before the deadline on its own.
      timeout: run.plus(Duration.seconds(30)),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [this.securityGroup],
      environment: {
        [BOOTSTRAP_BROKERS_ENV]: props.cluster.bootstrapBrokers,
        [PRODUCER_ENV.topic]: props.topic,
        [PRODUCER_ENV.ratePerSecond]: String(props.ratePerSecond),
        [PRODUCER_ENV.durationSeconds]: String(run.toSeconds()),
      },
    });
    props.cluster.grantProduce(this.handler.role, [props.topic]);

    this.rule = new events.Rule(this, 'Schedule', {
      description: `Runs the scheduled producer of topic ${props.topic}`,
      schedule: props.schedule ?? events.Schedule.rate(Duration.minutes(1)),
    });
    // A missed run is not worth replaying: the next one starts within a minute with the current time.
    this.rule.addTarget(new targets.LambdaFunction(this.handler.function, { retryAttempts: 0 }));
  }
}
