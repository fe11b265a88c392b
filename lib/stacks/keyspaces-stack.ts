import { RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TABLES } from '../../schema';
import type { PipelineConfig } from '../../config';
import { KeyspacesSchema } from '../keyspaces';

export interface KeyspacesStackProps extends StackProps {
  readonly config: PipelineConfig;
}

/** The keyspace and the tables of the typed schema. */
export class KeyspacesStack extends Stack {
  readonly schema: KeyspacesSchema;

  constructor(scope: Construct, id: string, props: KeyspacesStackProps) {
    super(scope, id, props);
    const { keyspace } = props.config;
    this.schema = new KeyspacesSchema(this, 'Schema', {
      keyspaceName: keyspace.name,
      tables: TABLES,
      ttlSeconds: keyspace.ttlSeconds,
      pointInTimeRecovery: keyspace.pointInTimeRecovery,
      removalPolicy: keyspace.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    if (!keyspace.pointInTimeRecovery) {
      Validations.of(this.schema).acknowledge({
        id: 'Pipeline-KeyspacesPITR',
        reason: 'Point-in-time recovery turned off by the config (keyspace.pointInTimeRecovery=false).',
      });
    }
  }
}
