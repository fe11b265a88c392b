/**
 * Physical names. The pipeline names a resource only where AWS requires a name (the MSK cluster) or where the
 * name is part of the contract (the keyspace and tables, from the config and the schema); everything else gets
 * a generated name. Named resources and the stacks carry the stage, so stages never collide in one account.
 */

/** `<stage>-<name>`; stages are validated by the config (lower-case letter, then letters, digits, dashes). */
export function resourceName(stage: string, name: string): string {
  return `${stage}-${name}`;
}

/** The stack names of a stage. */
export function stackNames(
  stage: string,
): Readonly<Record<'network' | 'kafka' | 'keyspaces' | 'pipeline', string>> {
  return {
    network: resourceName(stage, 'microbatch-network'),
    kafka: resourceName(stage, 'microbatch-kafka'),
    keyspaces: resourceName(stage, 'microbatch-keyspaces'),
    pipeline: resourceName(stage, 'microbatch-pipeline'),
  };
}

/** The SSM parameter path under which a stage's Kafka stack publishes the cluster for the other stacks. */
export function kafkaParameterPrefix(stage: string): string {
  return `/microbatch/${stage}/kafka`;
}
