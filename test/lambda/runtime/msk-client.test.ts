import { beforeEach, describe, expect, it, vi } from 'vitest';

const signer = vi.hoisted(() => ({ generateAuthToken: vi.fn() }));
vi.mock('aws-msk-iam-sasl-signer-js', () => signer);

import {
  BOOTSTRAP_BROKERS_ENV,
  MskAuthError,
  MskConfigError,
  createMskKafka,
  iamTokenProvider,
  mskKafkaConfig,
  parseBootstrapBrokers,
  readRegion,
} from '../../../lambda/runtime/msk-client';

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

describe('iamTokenProvider', () => {
  beforeEach(() => {
    signer.generateAuthToken.mockReset();
  });

  it('signs a token for the region and hands it to kafkajs as the OAUTHBEARER value', async () => {
    // Prepare
    signer.generateAuthToken.mockResolvedValue({ token: 'signed', expiryTime: 0 });

    // Act
    const response = await iamTokenProvider('eu-west-1')();

    // Assess
    expect(response).toEqual({ value: 'signed' });
    expect(signer.generateAuthToken).toHaveBeenCalledWith({ region: 'eu-west-1' });
  });

  it('fails with a typed error that carries the signer error as cause', async () => {
    // Prepare
    const cause = new Error('no credentials');
    signer.generateAuthToken.mockRejectedValue(cause);

    // Act
    const error = await iamTokenProvider('eu-west-1')().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(MskAuthError);
    expect((error as MskAuthError).cause).toBe(cause);
    expect((error as MskAuthError).name).toBe('MskAuthError');
  });
});

describe('createMskKafka', () => {
  beforeEach(() => {
    signer.generateAuthToken.mockReset();
  });

  it('builds a client from the environment without connecting', () => {
    const kafka = createMskKafka('test', { [BOOTSTRAP_BROKERS_ENV]: IAM_BROKERS, AWS_REGION: 'eu-west-1' });
    expect(typeof kafka.admin).toBe('function');
    expect(signer.generateAuthToken).not.toHaveBeenCalled();
  });

  it('fails when the brokers variable is missing', () => {
    expect(() => createMskKafka('test', { AWS_REGION: 'eu-west-1' })).toThrow(MskConfigError);
  });
});
