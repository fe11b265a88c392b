import { RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../../config';
import { pipelineTables, type JobDescriptor } from '../../config/jobs';
import { KeyspacesSchema } from '../keyspaces';

export interface KeyspacesStackProps extends StackProps {
  readonly config: PipelineConfig;
  /** The jobs, whose tables it creates with the runtime's own. */
  readonly jobs: readonly JobDescriptor[];
}

/** The keyspace, the tables of the jobs and the runtime's own tables, from the typed schema. */
export class KeyspacesStack extends Stack {
  readonly schema: KeyspacesSchema;

  constructor(scope: Construct, id: string, props: KeyspacesStackProps) {
    super(scope, id, props);
    const { keyspace } = props.config;
    this.schema = new KeyspacesSchema(this, 'Schema', {
      keyspaceName: keyspace.name,
      tables: pipelineTables(props.jobs),
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
