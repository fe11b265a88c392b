import { describe, expect, it } from 'vitest';
import { Client, types } from 'cassandra-driver';
import {
  checkpointReadConsistency,
  clientOptions,
  keyspacesRootCertificates,
  signKeyspacesChallenge,
  targetFromEnv,
  waitForKeyspacesTables,
} from '../../../lambda/runtime/cassandra-client';
import { RuntimeConfigError } from '../../../lambda/runtime/errors';

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

  it('writes at LOCAL_QUORUM, sends no serial consistency (Keyspaces refuses SERIAL and LOCAL_SERIAL), and maps bigint to Long', () => {
    expect(options.queryOptions).toEqual({ consistency: types.consistencies.localQuorum, prepare: true });
    expect(options.queryOptions).not.toHaveProperty('serialConsistency');
    expect(options.encoding).toMatchObject({ useBigIntAsLong: true });
  });

  it('pins exactly the certificates the Keyspaces guide lists (keyspaces-certs.test.ts checks each one)', () => {
    expect(options.sslOptions?.ca).toEqual(keyspacesRootCertificates());
    expect(keyspacesRootCertificates()).toHaveLength(5);
  });
});

describe('clientOptions for local Cassandra', () => {
  it('sends the same consistency as the Keyspaces target, and no serial consistency either', () => {
    const local = clientOptions({ kind: 'local', contactPoints: ['127.0.0.1:9042'], localDataCenter: 'dc1' });
    expect(local.queryOptions).toEqual({ consistency: types.consistencies.localQuorum, prepare: true });
    expect(local.sslOptions).toBeUndefined();
  });
});

describe('checkpointReadConsistency', () => {
  it('reads at LOCAL_SERIAL on a client that is neither Keyspaces nor strict', () => {
    const plain = new Client({ contactPoints: ['127.0.0.1'], localDataCenter: 'dc1' });
    expect(checkpointReadConsistency(plain)).toBe(types.consistencies.localSerial);
  });
});

describe('waitForKeyspacesTables', () => {
  /** A client whose system_schema_mcs.tables answers each table's statuses in turn. */
  function fakeClient(statuses: Record<string, Array<string | undefined>>) {
    const queries: unknown[][] = [];
    const client = {
      execute: async (query: string, params: unknown[]) => {
        queries.push([query, ...params]);
        const status = statuses[params[1] as string]!.shift();
        return { first: () => (status === undefined ? null : { get: () => status }) };
      },
    } as unknown as Client;
    return { client, queries };
  }

  it('reads each table status from system_schema_mcs.tables until it is ACTIVE', async () => {
    // GIVEN one table still being created and one active
    const { client, queries } = fakeClient({ a: ['CREATING', 'ACTIVE'], b: ['ACTIVE'] });

    // WHEN the runtime waits for both
    await waitForKeyspacesTables(client, 'ks', ['a', 'b'], { timeoutMs: 5_000 });

    // THEN it asked Keyspaces' own system table over CQL, and nothing else
    expect(queries).toEqual([
      ['SELECT status FROM system_schema_mcs.tables WHERE keyspace_name = ? AND table_name = ?', 'ks', 'a'],
      ['SELECT status FROM system_schema_mcs.tables WHERE keyspace_name = ? AND table_name = ?', 'ks', 'a'],
      ['SELECT status FROM system_schema_mcs.tables WHERE keyspace_name = ? AND table_name = ?', 'ks', 'b'],
    ]);
  });

  it('fails naming the table and its status when it does not become ACTIVE in time', async () => {
    const { client } = fakeClient({ a: [undefined, undefined, undefined] });
    const error = await waitForKeyspacesTables(client, 'ks', ['a'], { timeoutMs: 0 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RuntimeConfigError);
    expect(String(error)).toMatch(/ks\.a is missing, not ACTIVE/);
  });
});
