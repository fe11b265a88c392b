import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateAuthTokenFromCredentialsProvider } from 'aws-msk-iam-sasl-signer-js';
import {
  BOOTSTRAP_BROKERS_ENV,
  MskAuthError,
  MskConfigError,
  createMskKafka,
  iamTokenProvider,
  mskKafkaConfig,
  parseBootstrapBrokers,
  readRegion,
  signMskAuthToken,
} from '../../../lambda/runtime/msk-client';
import { RuntimeConfigError } from '../../../lambda/runtime/errors';
import { environmentCredentials } from '../../../lambda/runtime/aws-credentials';
import type { KafkaConfig } from '../../../lambda/runtime/kafkajs';

const IAM_BROKERS =
  'b-1.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098,b-2.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098';

describe('parseBootstrapBrokers', () => {
  it('splits the IAM bootstrap string of GetBootstrapBrokers into host:port entries', () => {
    // Act
    const brokers = parseBootstrapBrokers(IAM_BROKERS);

    // Assess
    expect(brokers).toEqual([
      'b-1.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098',
      'b-2.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098',
    ]);
  });

  it('ignores blanks around and between entries', () => {
    expect(parseBootstrapBrokers(' a.example:9098 , ,b.example:9098 ')).toEqual([
      'a.example:9098',
      'b.example:9098',
    ]);
  });

  it.each([
    ['undefined', undefined],
    ['an empty string', ''],
    ['a host without a port', 'b-1.demo.kafka.eu-west-1.amazonaws.com'],
    ['a port out of range', 'b-1.example:70000'],
    ['a URL instead of host:port', 'https://b-1.example:9098'],
    ['a number', 9098],
  ])('fails on %s, naming the variable', (_label, value) => {
    expect(() => parseBootstrapBrokers(value)).toThrow(MskConfigError);
    expect(() => parseBootstrapBrokers(value)).toThrow(new RegExp(`Invalid ${BOOTSTRAP_BROKERS_ENV}`));
  });
});

describe('readRegion', () => {
  it('reads AWS_REGION, which Lambda always sets', () => {
    expect(readRegion({ AWS_REGION: 'eu-west-1' })).toBe('eu-west-1');
  });

  it('fails without a region, saying what it expected', () => {
    expect(() => readRegion({})).toThrow(/Invalid AWS_REGION: received undefined; expected an AWS region/);
  });
});

describe('mskKafkaConfig', () => {
  const tokenProvider = async () => ({ value: 'token' });

  it('uses TLS and SASL/OAUTHBEARER with the given token provider', () => {
    // Act
    const config = mskKafkaConfig({ brokers: ['a.example:9098'], clientId: 'c', tokenProvider });

    // Assess
    expect(config.ssl).toBe(true);
    expect(config.sasl).toEqual({ mechanism: 'oauthbearer', oauthBearerProvider: tokenProvider });
    expect(config.brokers).toEqual(['a.example:9098']);
    expect(config.clientId).toBe('c');
  });

  it('bounds retries so that a Lambda deadline is not spent retrying', () => {
    const config = mskKafkaConfig({ brokers: ['a.example:9098'], clientId: 'c', tokenProvider });
    expect(config.retry?.retries).toBe(3);
    expect(config.connectionTimeout).toBe(10_000);
  });

  it('fails with no broker', () => {
    expect(() => mskKafkaConfig({ brokers: [], clientId: 'c', tokenProvider })).toThrow(/Invalid brokers/);
  });
});

describe('signMskAuthToken', () => {
  const date = new Date('2026-11-21T05:02:15.004Z');
  const credentials = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  };
  afterEach(() => vi.useRealTimers());

  /** The token AWS's signer library makes from the same credentials at the same time. */
  async function libraryToken(creds: typeof credentials & { sessionToken?: string }): Promise<string> {
    vi.useFakeTimers({ now: date, toFake: ['Date'] });
    const { token } = await generateAuthTokenFromCredentialsProvider({
      region: 'eu-west-1',
      awsCredentialsProvider: async () => creds,
    });
    return token;
  }

  it.each([
    ['long-term credentials', credentials],
    [
      "a role's temporary credentials",
      { ...credentials, sessionToken: 'IQoJb3JpZ2luX2VjEPT//session+token/=' },
    ],
  ])('is the token aws-msk-iam-sasl-signer-js makes, byte for byte, with %s', async (_name, creds) => {
    // GIVEN the library's token for these credentials at this time
    const expected = await libraryToken(creds);

    // WHEN the runtime signs the same request
    const token = signMskAuthToken({
      region: 'eu-west-1',
      credentials: creds,
      date,
      userAgent: 'aws-msk-iam-sasl-signer-js/1.0.3',
    });

    // THEN both are the same presigned URL
    expect(Buffer.from(token, 'base64url').toString()).toBe(Buffer.from(expected, 'base64url').toString());
    expect(token).toBe(expected);
  });

  it('presigns kafka-cluster:Connect on the regional endpoint for 900 s', () => {
    const url = new URL(
      Buffer.from(signMskAuthToken({ region: 'eu-west-1', credentials, date }), 'base64url').toString(),
    );
    expect(url.host).toBe('kafka.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(url.searchParams.get('X-Amz-Credential')).toBe(
      'AKIDEXAMPLE/20261121/eu-west-1/kafka-cluster/aws4_request',
    );
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('iamTokenProvider', () => {
  it("signs a token with the function's credentials from the environment and hands it to kafkajs", async () => {
    // Prepare
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'tok',
    };

    // Act
    const response = await iamTokenProvider('eu-west-1', environmentCredentials(env))();

    // Assess
    const url = new URL(Buffer.from(response.value, 'base64url').toString());
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('tok');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\//);
  });

  it('fails with a typed error that carries the credentials error as cause', async () => {
    // Prepare

    // Act
    const error = await iamTokenProvider('eu-west-1', environmentCredentials({}))().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(MskAuthError);
    expect((error as MskAuthError).cause).toBeInstanceOf(RuntimeConfigError);
    expect(String((error as MskAuthError).cause)).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    expect((error as MskAuthError).name).toBe('MskAuthError');
  });
});

describe('createMskKafka', () => {
  afterEach(() => {
    vi.doUnmock('../../../lambda/runtime/kafkajs');
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('builds a client from the environment without connecting', async () => {
    // GIVEN a kafkajs Kafka that only keeps its config: any method call (a connect) would throw
    const built: KafkaConfig[] = [];
    vi.doMock('../../../lambda/runtime/kafkajs', async (importOriginal) => ({
      ...(await importOriginal<typeof import('../../../lambda/runtime/kafkajs')>()),
      Kafka: class {
        constructor(config: KafkaConfig) {
          built.push(config);
        }
      },
    }));
    vi.resetModules();
    const { createMskKafka: create } = await import('../../../lambda/runtime/msk-client.js');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');

    // WHEN
    create('test', { [BOOTSTRAP_BROKERS_ENV]: IAM_BROKERS, AWS_REGION: 'eu-west-1' });

    // THEN one client, of the variable's brokers, over TLS with an IAM token signed for AWS_REGION
    expect(built).toHaveLength(1);
    const [config] = built;
    expect(config).toMatchObject({
      clientId: 'test',
      brokers: parseBootstrapBrokers(IAM_BROKERS),
      ssl: true,
    });
    const sasl = config!.sasl as { mechanism: string; oauthBearerProvider: () => Promise<{ value: string }> };
    expect(sasl.mechanism).toBe('oauthbearer');
    const url = new URL(Buffer.from((await sasl.oauthBearerProvider()).value, 'base64url').toString());
    expect(url.host).toBe('kafka.eu-west-1.amazonaws.com');
  });

  it('fails when the brokers variable is missing', () => {
    expect(() => createMskKafka('test', { AWS_REGION: 'eu-west-1' })).toThrow(MskConfigError);
  });
});
