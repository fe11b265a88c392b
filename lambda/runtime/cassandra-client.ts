/**
 * The Cassandra client of the local mode, the tests and the tools: `connectCassandra` (cassandra-connect.ts), in
 * the Keyspaces-strict mode for the local target unless MICROBATCH_KEYSPACES_STRICT=0: every statement Keyspaces
 * would refuse fails before it is sent (keyspaces-strict.ts, docs/keyspaces.md). The Lambda functions connect with
 * `connectCassandra` directly, so that the strict checks stay out of their bundles.
 */
import type { Client } from 'cassandra-driver';
import { connectCassandra, type CassandraTarget, type ConnectOptions } from './cassandra-connect';
import { KeyspacesStrictClient, strictFromEnv } from './keyspaces-strict';

export * from './cassandra-connect';

export interface ClientFactoryOptions extends Pick<ConnectOptions, 'credentials' | 'applicationName'> {
  /**
   * The Keyspaces-strict mode of the local target: refuse every statement Amazon Keyspaces would refuse.
   * Ignored for the keyspaces target, where Keyspaces itself answers.
   *
   * @default - on, unless MICROBATCH_KEYSPACES_STRICT is 0
   */
  readonly keyspacesStrict?: boolean;
}

export async function createCassandraClient(
  target: CassandraTarget,
  options: ClientFactoryOptions = {},
): Promise<Client> {
  const strict = target.kind === 'local' && (options.keyspacesStrict ?? strictFromEnv());
  return connectCassandra(target, {
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.applicationName ? { applicationName: options.applicationName } : {}),
    ...(strict ? { clientClass: KeyspacesStrictClient, keyspacesDialect: true } : {}),
  });
}
