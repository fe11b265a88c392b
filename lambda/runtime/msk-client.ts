/**
 * The kafkajs client factory for Amazon MSK with IAM access control, shared by the producer and the
 * topic-admin custom resource. The consumers never use it: their event source mapping reads MSK for them.
 *
 * - Transport: TLS to the IAM listener (port 9098 on provisioned clusters and on MSK Serverless).
 *   https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html
 * - Authentication: SASL/OAUTHBEARER with a token presigned from the function's own credentials (in Lambda, the
 *   execution role's credentials in the environment, so no STS call and no network path beyond the brokers is
 *   needed). The token is what `aws-msk-iam-sasl-signer-js` builds, signed here with node:crypto so that the
 *   bundles do without that library's STS client and credential chain; a unit test compares the two.
 *   https://github.com/aws/aws-msk-iam-sasl-signer-js
 *
 * The pure parts (reading the environment, building the kafkajs config) are exported and unit-tested; the
 * factory only wires them to kafkajs.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { createHash, createHmac } from 'node:crypto';
import { Kafka, logLevel, type KafkaConfig, type OauthbearerProviderResponse } from './kafkajs';
import { environmentCredentials, type AwsCredentials, type CredentialsProvider } from './aws-credentials';
import { kafkaLogCreator } from './kafka-log';

/** Errors of the MSK client layer. `name` is the class name; `cause` carries the underlying error. */
export class MskClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The function was deployed with missing or malformed settings: retrying cannot help. */
export class MskConfigError extends MskClientError {
  constructor(
    readonly variable: string,
    received: unknown,
    expected: string,
  ) {
    super(`Invalid ${variable}: received ${JSON.stringify(received)}; expected ${expected}.`);
  }
}

/** The IAM auth token could not be generated (no credentials, clock skew, signer failure). */
export class MskAuthError extends MskClientError {}

import { BOOTSTRAP_BROKERS_ENV } from '../../config/env';

export { BOOTSTRAP_BROKERS_ENV };

/** `host:port`, where host is a DNS name or an IPv4 address. */
const BROKER = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:(\d{1,5})$/;

/**
 * Parses a bootstrap broker string (`b-1.x.kafka.eu-west-1.amazonaws.com:9098,b-2...:9098`), as returned by
 * `kafka:GetBootstrapBrokers` in `BootstrapBrokerStringSaslIam`.
 */
export function parseBootstrapBrokers(value: unknown, variable = BOOTSTRAP_BROKERS_ENV): string[] {
  const expected = 'a comma-separated list of host:port, e.g. "b-1.demo.kafka.eu-west-1.amazonaws.com:9098"';
  if (typeof value !== 'string' || value.trim() === '') throw new MskConfigError(variable, value, expected);
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const broker of brokers) {
    const match = BROKER.exec(broker);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65_535) throw new MskConfigError(variable, value, expected);
  }
  return brokers;
}

/** The AWS region the token is signed for; Lambda always sets `AWS_REGION`. */
export function readRegion(env: Readonly<Record<string, string | undefined>>): string {
  const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  if (region === undefined || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new MskConfigError('AWS_REGION', region, 'an AWS region such as "eu-west-1"');
  }
  return region;
}

/** Produces an OAUTHBEARER token for each (re)authentication; kafkajs calls it when a connection opens. */
export type TokenProvider = () => Promise<OauthbearerProviderResponse>;

/** RFC 3986 percent-encoding, as SigV4 wants it (encodeURIComponent leaves `!'()*` alone). */
const escapeUri = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** How long an MSK IAM token is valid: the signer library's 900 s. */
export const MSK_TOKEN_TTL_SECONDS = 900;

/**
 * An MSK IAM auth token: the SigV4-presigned URL `GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect`
 * (service `kafka-cluster`, signed header `host`, empty payload), with `User-Agent` added after signing, encoded as
 * unpadded base64url. https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
export function signMskAuthToken(args: {
  readonly region: string;
  readonly credentials: AwsCredentials;
  readonly date: Date;
  /** @default 'kafka-keyspaces-microbatch' */
  readonly userAgent?: string;
}): string {
  const { region, credentials, date } = args;
  const host = `kafka.${region}.amazonaws.com`;
  const longDate = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const shortDate = longDate.slice(0, 8);
  const scope = `${shortDate}/${region}/kafka-cluster/aws4_request`;
  const query: Record<string, string> = {
    Action: 'kafka-cluster:Connect',
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': longDate,
    'X-Amz-Expires': String(MSK_TOKEN_TTL_SECONDS),
    ...(credentials.sessionToken ? { 'X-Amz-Security-Token': credentials.sessionToken } : {}),
    'X-Amz-SignedHeaders': 'host',
  };
  const queryString = (q: Record<string, string>): string =>
    Object.keys(q)
      .sort()
      .map((k) => `${escapeUri(k)}=${escapeUri(q[k]!)}`)
      .join('&');
  const emptyPayload = createHash('sha256').update('').digest('hex');
  const canonicalRequest = `GET\n/\n${queryString(query)}\nhost:${host}\n\nhost\n${emptyPayload}`;
  const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  const key = [shortDate, region, 'kafka-cluster', 'aws4_request'].reduce<Buffer | string>(
    (k, part) => createHmac('sha256', k).update(part).digest(),
    `AWS4${credentials.secretAccessKey}`,
  );
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  const url = `https://${host}/?${queryString({
    ...query,
    'X-Amz-Signature': signature,
    'User-Agent': args.userAgent ?? 'kafka-keyspaces-microbatch',
  })}`;
  return Buffer.from(url, 'utf8').toString('base64url');
}

/** Signs a fresh MSK IAM token (valid 15 minutes) with the function's credentials. */
export function iamTokenProvider(
  region: string,
  credentials: CredentialsProvider = environmentCredentials(),
): TokenProvider {
  return async () => {
    try {
      return { value: signMskAuthToken({ region, credentials: await credentials(), date: new Date() }) };
    } catch (error) {
      throw new MskAuthError(`Could not sign an MSK IAM auth token for region ${region}`, { cause: error });
    }
  };
}

export interface MskClientOptions {
  /** The bootstrap brokers of the IAM listener. */
  readonly brokers: readonly string[];
  /** Shown in the broker logs and in MSK's client metrics. */
  readonly clientId: string;
  /** How the OAUTHBEARER token is made. */
  readonly tokenProvider: TokenProvider;
  /**
   * @default 10000 - MSK brokers answer well within this inside the VPC; the default kafkajs 1 s is too short
   * for a cold Lambda ENI.
   */
  readonly connectionTimeoutMs?: number;
  /** @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Where kafkajs logs go (see kafka-log.ts). @default - kafkajs's own JSON lines on stdout */
  readonly logger?: Logger;
}

/** The kafkajs configuration for MSK IAM over TLS. Pure: no connection is opened. */
export function mskKafkaConfig(options: MskClientOptions): KafkaConfig {
  if (options.brokers.length === 0) {
    throw new MskConfigError('brokers', options.brokers, 'at least one host:port');
  }
  return {
    clientId: options.clientId,
    brokers: [...options.brokers],
    // TLS with the system trust store: MSK brokers present certificates from Amazon Trust Services.
    ssl: true,
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: options.tokenProvider },
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // Lambda has a hard deadline; let the handler decide instead of retrying for minutes.
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    ...(options.logger ? { logCreator: kafkaLogCreator(options.logger) } : {}),
  };
}

/** A kafkajs client for the MSK cluster named by the environment (`MICROBATCH_BOOTSTRAP_BROKERS`, `AWS_REGION`). */
export function createMskKafka(
  clientId: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  logger?: Logger,
): Kafka {
  const brokers = parseBootstrapBrokers(env[BOOTSTRAP_BROKERS_ENV]);
  const region = readRegion(env);
  return new Kafka(mskKafkaConfig({ brokers, clientId, tokenProvider: iamTokenProvider(region), logger }));
}
