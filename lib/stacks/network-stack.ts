import { Annotations, Stack, Token, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { availabilityZoneIdsContextKey, mskAvailabilityZones } from '../kafka/availability-zones';
import { AZ_COUNT, PipelineNetwork } from '../network';

export interface NetworkStackProps extends StackProps {
  readonly config: PipelineConfig;
}

/** The VPC, its flow logs and its endpoints, in AZs whose ID MSK accepts for the cluster's subnets. */
export class NetworkStack extends Stack {
  readonly network: PipelineNetwork;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    this.network = new PipelineNetwork(this, 'Network', {
      flowLogRetention: props.config.logRetentionDays as logs.RetentionDays,
      availabilityZones: this.clusterAvailabilityZones(),
    });
  }

  /**
   * The AZs for the cluster's subnets, from the account's AZ names (CDK's `availability-zones:...` context) and
   * their AZ IDs (`availability-zone-ids:...`, see lib/kafka/availability-zones.ts). `undefined` leaves the
   * choice to the VPC: for an environment-agnostic stack, whose region and AZs are unknown at synth (a warning
   * says so), and before CDK has looked the AZ names up (it synthesizes again once it has).
   */
  private clusterAvailabilityZones(): string[] | undefined {
    const { account, region } = this;
    if (Token.isUnresolved(account) || Token.isUnresolved(region)) {
      Annotations.of(this).addWarningV2(
        'microbatch:az-ids-unchecked',
        "Environment-agnostic stack: the MSK cluster's AZs cannot be checked against the AZ IDs MSK refuses " +
          '(use1-az3). Synthesize with an account and region (CDK_DEFAULT_ACCOUNT/REGION or env) to check them.',
      );
      return undefined;
    }
    const names = this.node.tryGetContext(`availability-zones:account=${account}:region=${region}`) as
      string[] | undefined;
    if (!Array.isArray(names)) return undefined;
    return mskAvailabilityZones({
      account,
      region,
      names,
      ids: this.node.tryGetContext(availabilityZoneIdsContextKey(account, region)),
      count: AZ_COUNT,
    });
  }
}
