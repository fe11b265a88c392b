/**
 * `microbatch ui --target keyspaces`: every statement the UI sends while serving every page of its API
 * restricts a full partition key and is bounded, so no refresh scans a table. The client is a recorder in
 * place of the Keyspaces connection (no AWS here); it answers with ledger rows shaped like the real ones, so
 * the views go as deep as they do against real data (batch pages, dead letters of a batch, checkpoints).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import type { CassandraTarget } from '../../../lambda/runtime/cassandra-client';
import { loadConfig, objectGetter } from '../../../config';
import { ALL_TABLES, SHIPPED_JOBS } from '../../support/jobs';
import { parseUiOptions, startUiCommand, UiConnectError, UiOptionError } from '../../../local/ui/command';
import type { RunningUi } from '../../../local/ui';

interface Sent {
  readonly cql: string;
  readonly params: readonly unknown[];
  readonly options: Record<string, unknown> | undefined;
}

function keysOf(table: string): { partition: readonly string[]; clustering: readonly string[] } {
  const def = ALL_TABLES.find((t) => t.name === table);
  if (!def) throw new Error(`The UI queried table '${table}', which the schema does not define.`);
  return { partition: def.partitionKey, clustering: def.clustering.map((c) => c.name) };
}

const now = new Date();
const started = new Date(now.getTime() - 30_000);

function row(values: Record<string, unknown>) {
  return Object.assign(Object.create({ get: (k: string) => values[k] }) as object, values);
}

/** Answers like Keyspaces would for the one batch, one checkpoint and one dead letter it knows. */
function recordingClient(sent: Sent[]) {
  const ledgerRow = row({
    job: 'sent-received',
    day: started.toISOString().slice(0, 10),
    started_at: started,
    batch_id: 'b-1',
    duration_ms: 120,
    records_in: 10,
    written: 9,
    duplicates: 0,
    dead_lettered: 1,
    late: 0,
    offset_ranges: JSON.stringify([{ topic: 'test', partition: 0, fromOffset: 5, untilOffset: 15 }]),
    watermark_ms: null,
  });
  return {
    async execute(cql: string, params: unknown[] = [], options?: Record<string, unknown>) {
      sent.push({ cql, params, options });
      let rows: object[] = [];
      if (/FROM \w+\.batch_ledger/.test(cql) && params[1] === started.toISOString().slice(0, 10))
        rows = [ledgerRow];
      if (/FROM \w+\.offset_checkpoints/.test(cql))
        rows = [
          row({
            next_offset: 15n,
            watermark_ms: null,
            claim_id: null,
            claim_until: null,
            claim_time: null,
            updated_at: now,
          }),
        ];
      if (/FROM \w+\.dead_letters/.test(cql))
        rows = [
          row({
            kafka_offset: 7n,
            reason: 'schema',
            detail: 'not a time',
            key_b64: null,
            value_b64: Buffer.from('<b>x</b>').toString('base64'),
            record_timestamp: started,
          }),
        ];
      return { rows, first: () => rows[0] ?? null, pageState: undefined };
    },
    async shutdown() {},
  };
}

/** The restrictions of a WHERE clause: column -> operator(s). */
function restrictions(cql: string): Map<string, string[]> {
  const where = /\bWHERE\b(.*?)(?:\bORDER BY\b|\bLIMIT\b|$)/is.exec(cql)?.[1] ?? '';
  const out = new Map<string, string[]>();
  for (const part of where.split(/\bAND\b/i)) {
    const m = /^\s*(\w+)\s*(=|>=|<=|<|>|IN)\s*\?\s*$/i.exec(part);
    if (!m) throw new Error(`Unexpected restriction '${part.trim()}' in: ${cql}`);
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!.toUpperCase()]);
  }
  return out;
}

let ui: RunningUi | undefined;
afterEach(async () => {
  await ui?.close();
  ui = undefined;
});

describe('microbatch ui --target keyspaces', () => {
  it('sends only statements restricted to a full partition key and bounded, on every API view', async () => {
    // GIVEN the UI against Keyspaces, with a recorder for a client
    const sent: Sent[] = [];
    const targets: CassandraTarget[] = [];
    const project = { jobs: SHIPPED_JOBS, config: loadConfig(objectGetter({}), SHIPPED_JOBS) };
    ui = await startUiCommand({ target: 'keyspaces', region: 'eu-west-1', port: '0' }, project, {
      createClient: async (target) => {
        targets.push(target);
        return recordingClient(sent) as never;
      },
      env: {},
      log: () => undefined,
    });
    expect(targets).toEqual([{ kind: 'keyspaces', region: 'eu-west-1' }]);

    // WHEN every view of the API is read
    const get = async (path: string) => {
      const res = await fetch(`${ui!.url}${path}`);
      expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };
    const startedAt = encodeURIComponent(started.toISOString());
    await get('/api');
    await get('/api/jobs');
    await get('/api/jobs/sent-received');
    for (const range of ['5m', '1h', '24h']) await get(`/api/jobs/sent-received/series?range=${range}`);
    const page = await get('/api/jobs/sent-received/batches?limit=20');
    expect((page.batches as unknown[]).length).toBe(1);
    const batch = await get(`/api/jobs/sent-received/batches/${startedAt}/b-1`);
    expect((batch.deadLetters as Array<{ value: { text: string } }>)[0]!.value.text).toBe('<b>x</b>');
    await get('/api/jobs/sent-received/skipped-ranges');
    await get('/api/dead-letters?job=sent-received&reason=schema');
    await get('/api/dead-letters');
    await ui.sampler.tick();

    // THEN each statement names a known table, restricts its whole partition key by equality, and is bounded
    expect(sent.length).toBeGreaterThan(20);
    const tables = new Set<string>();
    for (const { cql, options } of sent) {
      const table = /\b(?:FROM|INTO)\s+\w+\.(\w+)/i.exec(cql)?.[1];
      expect(table, cql).toBeDefined();
      tables.add(table!);
      expect(cql).not.toMatch(/ALLOW FILTERING/i);
      if (/^\s*INSERT/i.test(cql)) {
        // The UI writes its own table only.
        expect(table).toBe('ui_metrics');
        continue;
      }
      expect(cql).toMatch(/^\s*SELECT/i);
      const keys = keysOf(table!);
      const where = restrictions(cql);
      for (const column of keys.partition) expect(where.get(column), `${column} in: ${cql}`).toEqual(['=']);
      const fullPrimaryKey = [...keys.partition, ...keys.clustering].every((c) => where.get(c)?.[0] === '=');
      const limited = /\bLIMIT\s+(\?|\d+)/i.test(cql);
      expect(fullPrimaryKey || limited, `bounded: ${cql}`).toBe(true);
      expect(options?.prepare, cql).toBe(true);
    }
    expect([...tables].sort()).toEqual(
      ['batch_ledger', 'dead_letters', 'offset_checkpoints', 'skipped_ranges', 'ui_metrics'].sort(),
    );
  });
});

describe('microbatch ui --host', () => {
  it.each([
    ['::1', /^http:\/\/\[::1\]:\d+$/],
    ['127.0.0.1', /^http:\/\/127\.0\.0\.1:\d+$/],
  ])('GIVEN --host %s THEN prints a URL that opens the UI', async (host, url) => {
    const project = { jobs: SHIPPED_JOBS, config: loadConfig(objectGetter({}), SHIPPED_JOBS) };
    ui = await startUiCommand({ target: 'keyspaces', region: 'eu-west-1', port: '0', host }, project, {
      createClient: async () => recordingClient([]) as never,
      env: {},
      log: () => undefined,
    });
    expect(ui.url).toMatch(url);
    expect((await fetch(`${ui.url}/api`)).status).toBe(200);
  });

  it.each(['127.0.0.2', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost'])(
    'GIVEN --host %s, a loopback address THEN answers its own URL and refuses a name a page could rebind to it',
    async (host) => {
      // GIVEN the UI on that loopback address
      const project = { jobs: SHIPPED_JOBS, config: loadConfig(objectGetter({}), SHIPPED_JOBS) };
      ui = await startUiCommand({ target: 'keyspaces', region: 'eu-west-1', port: '0', host }, project, {
        createClient: async () => recordingClient([]) as never,
        env: {},
        log: () => undefined,
      });

      // WHEN a browser opens the URL it prints, and a page whose DNS name now resolves to that address asks it
      const own = await fetch(`${ui.url}/api`);
      const address = ui.server.address() as { address: string; port: number };
      const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) =>
        request(
          {
            host: address.address,
            port: address.port,
            path: '/api/jobs',
            headers: { host: `attacker.example:${address.port}` },
          },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        )
          .on('error', reject)
          .end(),
      );

      // THEN
      expect(own.status).toBe(200);
      expect(rebound.status).toBe(403);
      expect(rebound.body).toContain("not 'attacker.example'");
    },
  );
});

describe('microbatch ui without a database', () => {
  it('names the target and the fix', async () => {
    const project = { jobs: SHIPPED_JOBS, config: loadConfig(objectGetter({}), SHIPPED_JOBS) };
    const start = startUiCommand({ target: 'keyspaces', region: 'eu-west-1', port: '0' }, project, {
      createClient: async () => {
        throw new Error('All host(s) tried for query failed');
      },
      env: {},
    });
    await expect(start).rejects.toThrow(UiConnectError);
    await expect(start).rejects.toThrow(
      /Cannot reach Amazon Keyspaces in eu-west-1: check the region, your AWS credentials/,
    );
  });
});

describe('parseUiOptions', () => {
  it('reads the local endpoints by default', () => {
    const o = parseUiOptions({}, { KAFKA_BROKERS: 'k:9092', CASSANDRA_CONTACT_POINTS: 'c:9042' });
    expect(o).toMatchObject({
      target: { kind: 'local', contactPoints: ['c:9042'] },
      brokers: ['k:9092'],
      kafkaAuth: 'none',
      port: 4040,
      host: '127.0.0.1',
    });
  });

  it('takes Keyspaces with MSK IAM auth when brokers are given', () => {
    const o = parseUiOptions(
      { target: 'keyspaces', brokers: 'b-1.demo.kafka.eu-west-1.amazonaws.com:9098' },
      { AWS_REGION: 'eu-west-1' },
    );
    expect(o).toMatchObject({ target: { kind: 'keyspaces', region: 'eu-west-1' }, kafkaAuth: 'iam' });
  });

  it.each([
    [{ target: 'cloud' }, /--target must be local or keyspaces; received 'cloud'/],
    [{ port: '70000' }, /--port must be a port number from 0 to 65535; received '70000'/],
    [{ 'kafka-auth': 'scram' }, /--kafka-auth must be none or iam; received 'scram'/],
    [{ target: 'keyspaces' }, /--target keyspaces needs the AWS region of the keyspace: --region eu-west-1/],
    [{ brokers: 'not a broker' }, /Invalid --brokers/],
    [{ region: 'eu-west-1' }, /--region applies to --target keyspaces only; received it with --target local/],
  ])('refuses %o with a message naming the fix', (values, message) => {
    expect(() => parseUiOptions(values, {})).toThrow(UiOptionError);
    expect(() => parseUiOptions(values, {})).toThrow(message);
  });
});
