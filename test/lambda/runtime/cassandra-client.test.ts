import { describe, expect, it } from 'vitest';
import { types } from 'cassandra-driver';
import { X509Certificate } from 'node:crypto';
import {
  amazonRootCertificates,
  clientOptions,
  signKeyspacesChallenge,
  targetFromEnv,
} from '../../../lambda/runtime/cassandra-client';

describe('signKeyspacesChallenge', () => {
  // The vector published with AWS's own SigV4 plugin for the Cassandra Node.js driver.
  const args = {
    region: 'us-west-2',
    nonce: '91703fdc2ef562e19fbdab0f58e42fe5',
    date: new Date(1591742511000),
    credentials: { accessKeyId: 'UserID-1', secretAccessKey: 'UserSecretKey-1' },
  };

  it('matches the published signature', () => {
    expect(signKeyspacesChallenge(args)).toBe(
      'signature=7f3691c18a81b8ce7457699effbfae5b09b4e0714ab38c1292dbdf082c9ddd87,access_key=UserID-1,amzdate=2020-06-09T22:41:51.000Z',
    );
  });

  it('appends the session token of temporary credentials', () => {
    const answer = signKeyspacesChallenge({
      ...args,
      credentials: { ...args.credentials, sessionToken: 'sess-token-1' },
    });
    expect(answer).toMatch(
      /^signature=7f3691c1[0-9a-f]+,access_key=UserID-1,amzdate=2020-06-09T22:41:51\.000Z,session_token=sess-token-1$/,
    );
  });
});

describe('targetFromEnv', () => {
  it('defaults to local Cassandra on 9042', () => {
    expect(targetFromEnv({})).toEqual({
      kind: 'local',
      contactPoints: ['127.0.0.1:9042'],
      localDataCenter: 'datacenter1',
    });
  });

  it('fails for keyspaces without a region, saying what to set', () => {
    expect(() => targetFromEnv({ MICROBATCH_TARGET: 'keyspaces' })).toThrow(/needs AWS_REGION/);
  });

  it('fails on an unknown target, listing the allowed ones', () => {
    expect(() => targetFromEnv({ MICROBATCH_TARGET: 'scylla' })).toThrow(
      /'scylla'; expected 'local' or 'keyspaces'/,
    );
  });
});

describe('clientOptions for Keyspaces', () => {
  const options = clientOptions({ kind: 'keyspaces', region: 'eu-west-1' }, async () => ({
    accessKeyId: 'a',
    secretAccessKey: 'b',
  }));

  it('uses TLS on 9142 against the regional endpoint, verifying the certificate', () => {
    expect(options.contactPoints).toEqual(['cassandra.eu-west-1.amazonaws.com']);
    expect(options.protocolOptions?.port).toBe(9142);
    expect(options.sslOptions).toMatchObject({
      rejectUnauthorized: true,
      servername: 'cassandra.eu-west-1.amazonaws.com',
    });
  });

  it('writes at LOCAL_QUORUM with LOCAL_SERIAL for the checkpoint LWTs, and maps bigint to Long', () => {
    expect(options.queryOptions).toMatchObject({
      consistency: types.consistencies.localQuorum,
      serialConsistency: types.consistencies.localSerial,
      prepare: true,
    });
    expect(options.encoding).toMatchObject({ useBigIntAsLong: true });
  });

  it('pins the Amazon root CAs only', () => {
    const subjects = amazonRootCertificates().map((pem) => new X509Certificate(pem).subject);
    expect(subjects.length).toBeGreaterThanOrEqual(4);
    for (const s of subjects)
      expect(s).toMatch(/Amazon Root CA|Starfield Services Root Certificate Authority - G2/);
  });
});
