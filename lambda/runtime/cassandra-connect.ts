/**
 * Connecting to Cassandra or Keyspaces, as the Lambda functions do:
 * - `local`: Apache Cassandra on the developer's machine (port 9042, no auth);
 * - `keyspaces`: Amazon Keyspaces over TLS on 9142, pinned to the root certificates the Keyspaces guide lists,
 *   with SigV4 authentication from the function's role (its credentials in the environment), at LOCAL_QUORUM.
 *
 * The functions connect through `connectCassandra`. The local mode adds the Keyspaces-strict checks on top
 * (`createCassandraClient` in cassandra-client.ts), which the functions never load: Keyspaces itself answers
 * them, and the checks would add 25 KB to every bundle.
 *
 * https://docs.aws.amazon.com/keyspaces/latest/devguide/using_nodejs_driver.html
 */
import { createHash, createHmac } from 'node:crypto';
import type { ClientOptions } from 'cassandra-driver';
import { auth, Client, types } from './cassandra-driver';
import { environmentCredentials, type AwsCredentials, type CredentialsProvider } from './aws-credentials';
import { RuntimeConfigError } from './errors';
import { KEYSPACES_ROOT_CERTIFICATES } from './keyspaces-certs';

export type CassandraTarget =
  | { readonly kind: 'local'; readonly contactPoints: readonly string[]; readonly localDataCenter: string }
  | { readonly kind: 'keyspaces'; readonly region: string };

/** Reads the target from the environment: `MICROBATCH_TARGET` is `local` (the default) or `keyspaces`. */
export function targetFromEnv(env: NodeJS.ProcessEnv = process.env): CassandraTarget {
  const kind = env.MICROBATCH_TARGET ?? 'local';
  if (kind === 'keyspaces') {
    const region = env.AWS_REGION;
    if (!region)
      throw new RuntimeConfigError(
        'MICROBATCH_TARGET=keyspaces needs AWS_REGION (Lambda sets it; set it when running elsewhere).',
      );
    return { kind, region };
  }
  if (kind === 'local') {
    return {
      kind,
      contactPoints: (env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      localDataCenter: env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
    };
  }
  throw new RuntimeConfigError(`MICROBATCH_TARGET is '${kind}'; expected 'local' or 'keyspaces'.`);
}

/**
 * The root certificates the Keyspaces guide tells drivers to trust: Amazon Root CA 1-4 and Starfield Class 2,
 * shipped with the code (lambda/runtime/certs/) rather than taken from Node's store, which no longer has
 * Starfield Class 2 and is not the list the guide gives.
 * https://docs.aws.amazon.com/keyspaces/latest/devguide/using_nodejs_driver.html
 */
export function keyspacesRootCertificates(): string[] {
  return [...KEYSPACES_ROOT_CERTIFICATES];
}

const hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/**
 * The Keyspaces SigV4 answer to the server's `nonce=...` challenge: a SigV4 signature of a canonical
 * `PUT /authenticate` request whose payload hash is the nonce's SHA-256.
 */
export function signKeyspacesChallenge(args: {
  region: string;
  nonce: string;
  date: Date;
  credentials: AwsCredentials;
}): string {
  const { region, nonce, date, credentials } = args;
  const amzDate = date.toISOString();
  const day = amzDate.slice(0, 10).replace(/-/g, '');
  const scope = `${day}/${region}/cassandra/aws4_request`;
  const query = [
    'X-Amz-Algorithm=AWS4-HMAC-SHA256',
    `X-Amz-Credential=${credentials.accessKeyId}%2F${encodeURIComponent(scope)}`,
    `X-Amz-Date=${encodeURIComponent(amzDate)}`,
    'X-Amz-Expires=900',
  ]
    .sort()
    .join('&');
  const canonicalRequest = `PUT\n/authenticate\n${query}\nhost:cassandra\n\nhost\n${hex(nonce)}`;
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${hex(canonicalRequest)}`;
  const key = ['aws4_request'].reduce(
    (k, part) => hmac(k, part),
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 'cassandra'),
  );
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  let answer = `signature=${signature},access_key=${credentials.accessKeyId},amzdate=${amzDate}`;
  if (credentials.sessionToken) answer += `,session_token=${credentials.sessionToken}`;
  return answer;
}

class SigV4Authenticator implements auth.Authenticator {
  constructor(
    private readonly region: string,
    private readonly credentials: CredentialsProvider,
  ) {}

  initialResponse(callback: (error: Error | null, response?: Buffer) => void): void {
    callback(null, Buffer.from('SigV4\0\0'));
  }

  evaluateChallenge(challenge: Buffer, callback: (error: Error | null, response?: Buffer) => void): void {
    const nonce = /nonce=([^,]+)/.exec(challenge.toString())?.[1];
    if (!nonce) {
      callback(
        new Error(
          `Keyspaces sent an authentication challenge without a nonce: ${challenge.toString().slice(0, 80)}`,
        ),
      );
      return;
    }
    this.credentials().then(
      (credentials) =>
        callback(
          null,
          Buffer.from(signKeyspacesChallenge({ region: this.region, nonce, date: new Date(), credentials })),
        ),
      (error: unknown) =>
        callback(new Error('Could not load AWS credentials for Keyspaces SigV4.', { cause: error })),
    );
  }

  onAuthenticationSuccess(): void {}
}

export class SigV4AuthProvider implements auth.AuthProvider {
  constructor(
    private readonly region: string,
    private readonly credentials: CredentialsProvider,
  ) {}

  newAuthenticator(): auth.Authenticator {
    return new SigV4Authenticator(this.region, this.credentials);
  }
}

/** Clients that talk to Keyspaces, or check every statement as Keyspaces would. */
const keyspacesDialect = new WeakSet<Client>();

/**
 * How to read a row that lightweight transactions write. Keyspaces has no SERIAL reads, and its LOCAL_QUORUM
 * reads reflect every write acknowledged before them, lightweight transactions included; so LOCAL_QUORUM on
 * Keyspaces and in the strict mode, and LOCAL_SERIAL on a plain Cassandra, where it also completes a
 * transaction left half done.
 * https://docs.aws.amazon.com/keyspaces/latest/devguide/consistency.html
 */
export function checkpointReadConsistency(client: Client): number {
  return keyspacesDialect.has(client) ? types.consistencies.localQuorum : types.consistencies.localSerial;
}

export function clientOptions(target: CassandraTarget, credentials?: CredentialsProvider): ClientOptions {
  const common: Partial<ClientOptions> = {
    // Offsets and counts are bigint end to end: no float ever carries an offset.
    encoding: { useBigIntAsLong: true, useBigIntAsVarint: true },
    // No serialConsistency: Keyspaces lists SERIAL and LOCAL_SERIAL among the levels it refuses, and every
    // driver setup in its guide leaves the serial consistency unset, so the request carries none and the
    // lightweight transaction runs as the server decides (Cassandra: SERIAL, the protocol's default).
    // https://docs.aws.amazon.com/keyspaces/latest/devguide/consistency.html#UnsupportedConsistency
    queryOptions: { prepare: true, consistency: types.consistencies.localQuorum },
    socketOptions: { connectTimeout: 10_000, readTimeout: 12_000 },
    pooling: { warmup: true },
  };
  if (target.kind === 'local') {
    return {
      ...common,
      contactPoints: [...target.contactPoints],
      localDataCenter: target.localDataCenter,
    } as ClientOptions;
  }
  if (!credentials) throw new RuntimeConfigError('The keyspaces target needs a credentials provider.');
  const host = `cassandra.${target.region}.amazonaws.com`;
  return {
    ...common,
    contactPoints: [host],
    localDataCenter: target.region,
    protocolOptions: { port: 9142 },
    sslOptions: { ca: keyspacesRootCertificates(), host, servername: host, rejectUnauthorized: true },
    authProvider: new SigV4AuthProvider(target.region, credentials),
  } as ClientOptions;
}

export interface ConnectOptions {
  /** Credentials for Keyspaces. @default - `environmentCredentials()`: the function's role in Lambda. */
  readonly credentials?: CredentialsProvider;
  /** @default - 'microbatch' */
  readonly applicationName?: string;
  /** The client class (the strict mode passes its own). @default - cassandra-driver's `Client` */
  readonly clientClass?: new (options: ClientOptions) => Client;
  /**
   * The client speaks Keyspaces' dialect (see `checkpointReadConsistency`).
   * @default - true for the keyspaces target, false for the local one
   */
  readonly keyspacesDialect?: boolean;
}

/** A connected client for `target`. */
export async function connectCassandra(
  target: CassandraTarget,
  options: ConnectOptions = {},
): Promise<Client> {
  const credentials =
    target.kind === 'keyspaces' ? (options.credentials ?? environmentCredentials()) : undefined;
  const settings = {
    ...clientOptions(target, credentials),
    applicationName: options.applicationName ?? 'microbatch',
  } as ClientOptions;
  const client = new (options.clientClass ?? Client)(settings);
  if (options.keyspacesDialect ?? target.kind === 'keyspaces') keyspacesDialect.add(client);
  await client.connect();
  return client;
}

/**
 * Keyspaces creates tables asynchronously: wait until each is ACTIVE before writing. The status is in
 * `system_schema_mcs.tables`, read over the connection the function already has (no Keyspaces API client, no
 * endpoint for it in the VPC).
 * https://docs.aws.amazon.com/keyspaces/latest/devguide/working-with-tables.html#tables-create
 */
export async function waitForKeyspacesTables(
  client: Client,
  keyspace: string,
  tables: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let delay = 500;
  for (const table of tables) {
    for (;;) {
      const rs = await client.execute(
        'SELECT status FROM system_schema_mcs.tables WHERE keyspace_name = ? AND table_name = ?',
        [keyspace, table],
      );
      const status = rs.first()?.get('status') as string | undefined;
      if (status === 'ACTIVE') break;
      if (Date.now() > deadline) {
        throw new RuntimeConfigError(
          `Keyspaces table ${keyspace}.${table} is ${status ?? 'missing'}, not ACTIVE, after waiting. Check the stack deployed it.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}
