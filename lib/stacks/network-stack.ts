import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { PipelineNetwork } from '../network';

export interface NetworkStackProps extends StackProps {
  readonly config: PipelineConfig;
}

/** The VPC, its flow logs and its endpoints. */
export class NetworkStack extends Stack {
  readonly network: PipelineNetwork;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    this.network = new PipelineNetwork(this, 'Network', {
      flowLogRetention: props.config.logRetentionDays as logs.RetentionDays,
    });
  }
}
