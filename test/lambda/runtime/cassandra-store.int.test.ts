/**
 * The exactly-once protocol on real Cassandra, in the Keyspaces-strict mode (LOCAL_QUORUM reads of the LWT
 * checkpoints, no client timestamps): window partials by compare-and-set and skipped ranges, with crashes
 * injected around the real stores.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Client } from 'cassandra-driver';
import { processPartition } from '../../../lambda/runtime/checkpoint';
import { CassandraCheckpointStore, CassandraSinkStore } from '../../../lambda/runtime/cassandra-store';
import type { KafkaRecord, PartitionRecords } from '../../../lambda/runtime/event';
import type { CheckpointStore, SinkStore } from '../../../lambda/runtime/store';
import { delegatingCheckpoints, delegatingSink } from '../../support/memory-store';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { createSensorStatsJob } from '../../../lambda/jobs/sensor-stats';
import { defineTransformJob } from '../../../lambda/runtime/job';
import { utf8 } from '../../../lambda/runtime/decoders';
import type { TableDef } from '../../../schema';
import { SendClock } from '../../../local/producer';
import { createCassandraClient } from '../../../lambda/runtime/cassandra-client';
import { closeCassandra, endpoints, freshKeyspace, uniqueName } from '../../support/integration';

const localTarget = {
  kind: 'local' as const,
  contactPoints: endpoints.cassandraContactPoints,
  localDataCenter: endpoints.cassandraLocalDataCenter,
};
import { ensureSchema } from '../../../local/setup';
import { SHIPPED_JOBS } from '../../support/jobs';

afterAll(closeCassandra);

class Crash extends Error {}

function records(
  topic: string,
  from: number,
  until: number,
  values: (o: number) => string,
): PartitionRecords {
  const list: KafkaRecord[] = [];
  for (let o = from; o < until; o++) {
    list.push({
      topic,
      partition: 0,
      offset: BigInt(o),
      timestamp: Date.now(),
      timestampType: 'CREATE_TIME',
      key: null,
      value: Buffer.from(values(o)),
      headers: [],
    });
  }
  return { topic, partition: 0, records: list };
}

async function rows(client: Client, keyspace: string): Promise<Map<string, string>> {
  const rs = await client.execute(`SELECT time_sent, time_received FROM ${keyspace}.sent_received`);
  return new Map(rs.rows.map((r) => [r.get('time_sent') as string, r.get('time_received') as string]));
}

async function setup() {
  const { client, keyspace } = await freshKeyspace();
  const checkpoints = new CassandraCheckpointStore(client, keyspace);
  const sink = new CassandraSinkStore(client, keyspace);
  const job = createSentReceivedJob(
    { timeFormat: 'iso', failOnDataLoss: false },
    { name: uniqueName('job-') },
  );
  const clock = new SendClock();
  const sent = Array.from({ length: 40 }, () => clock.now());
  const part = records('test', 0, 40, (o) => sent[o]!);
  let tick = Date.now();
  const deps = (overrides: { checkpoints?: CheckpointStore; sink?: SinkStore } = {}) => ({
    checkpoints,
    sink,
    clock: () => new Date((tick += 1000)),
    batchId: uniqueName('b-'),
    warn: () => undefined,
    ...overrides,
  });
  return { client, keyspace, checkpoints, sink, job, part, deps };
}

describe('the checkpoint protocol on Cassandra', () => {
  it('writes every effect and moves the checkpoint by LWT, with no client timestamp', async () => {
    const { client, keyspace, checkpoints, job, part, deps } = await setup();
    const outcome = await processPartition(job, part, deps());
    expect(outcome).toMatchObject({ applied: 40, written: 40, duplicates: 0 });
    const stored = await rows(client, keyspace);
    expect(stored.size).toBe(40);
    expect([...stored.keys()].sort()).toEqual(part.records.map((r) => r.value!.toString()).sort());
    // Server time, not an offset: Keyspaces refuses client timestamps far from the current time. (Read with a
    // plain client: WRITETIME is itself refused on a table without client-side timestamps.)
    const plain = await createCassandraClient(localTarget, { keyspacesStrict: false });
    try {
      const wt = await plain.execute(
        `SELECT WRITETIME(time_received) AS wt FROM ${keyspace}.sent_received LIMIT 1`,
      );
      expect(Number(wt.first().get('wt') as bigint)).toBeGreaterThan((Date.now() - 60_000) * 1000);
    } finally {
      await plain.shutdown();
    }
    expect(await checkpoints.read({ job: job.name, topic: 'test', partition: 0 })).toMatchObject({
      nextOffset: 40n,
      claim: null,
    });
  });

  it('GIVEN one batch writing a row twice THEN the later record wins, not the greater value (one write timestamp)', async () => {
    // GIVEN a job keeping each device's latest status, and a batch where d1 goes from 'zeta' to 'alpha'
    const { client, keyspace, checkpoints, sink } = await setup();
    const table: TableDef = {
      name: 'device_status',
      doc: 'test',
      columns: [
        { name: 'device', type: 'text', doc: 'test' },
        { name: 'status', type: 'text', doc: 'test' },
      ],
      partitionKey: ['device'],
      clustering: [],
      defaultTtlSeconds: 0,
    };
    await client.execute(
      `CREATE TABLE ${keyspace}.device_status (device text PRIMARY KEY, status text)`,
      [],
      {
        prepare: false,
      },
    );
    const latest = defineTransformJob({
      name: uniqueName('status-'),
      topics: ['devices'],
      decoder: utf8(),
      sinkTables: [table],
      transform: (value) => {
        const [device, status] = value.split(':');
        return [{ table, values: { device, status } }];
      },
    });
    const statuses = ['d1:zeta', 'd2:on', 'd1:alpha'];

    // WHEN
    await processPartition(
      latest,
      records('devices', 0, 3, (o) => statuses[o]!),
      { checkpoints, sink, clock: () => new Date(), batchId: uniqueName('b-'), warn: () => undefined },
    );

    // THEN
    const rs = await client.execute(`SELECT device, status FROM ${keyspace}.device_status`);
    expect(
      Object.fromEntries(rs.rows.map((r) => [r.get('device') as string, r.get('status') as string])),
    ).toEqual({
      d1: 'alpha',
      d2: 'on',
    });
  });

  it('skips a batch delivered twice', async () => {
    const { job, part, deps } = await setup();
    await processPartition(job, part, deps());
    expect(await processPartition(job, part, deps())).toMatchObject({ applied: 0, duplicates: 40 });
  });

  it('after a crash between the effects and the checkpoint, the retry leaves every row as it was', async () => {
    const { client, keyspace, checkpoints, job, part, deps } = await setup();
    let cas = 0;
    const crashing = delegatingCheckpoints(checkpoints, {
      compareAndSet: async (ref, expected, next) => {
        if (++cas === 2) throw new Crash('crash before the commit');
        return checkpoints.compareAndSet(ref, expected, next);
      },
    });
    await expect(processPartition(job, part, deps({ checkpoints: crashing }))).rejects.toThrow(Crash);
    const before = await rows(client, keyspace);

    const retry = await processPartition(job, part, deps());

    expect(retry).toMatchObject({ applied: 40 });
    expect(await rows(client, keyspace)).toEqual(before);
  });

  it('after a crash in the middle of the effects, the retry completes them with the same processing time', async () => {
    const { client, keyspace, sink, job, part, deps } = await setup();
    const crashing = delegatingSink(sink, {
      write: async (writes) => {
        await sink.write(writes.slice(0, 13));
        throw new Crash('crash after 13 writes');
      },
    });
    await expect(processPartition(job, part, deps({ sink: crashing }))).rejects.toThrow(Crash);
    const half = await rows(client, keyspace);
    expect(half.size).toBe(13);

    await processPartition(job, part, deps());

    const all = await rows(client, keyspace);
    expect(all.size).toBe(40);
    expect(new Set(all.values()).size).toBe(1);
    for (const [sent, row] of half) expect(all.get(sent)).toEqual(row);
  });

  it('concurrent invocations on one partition apply each offset once', async () => {
    const { client, keyspace, job, part, deps } = await setup();
    const outcomes = await Promise.all([1, 2, 3].map(() => processPartition(job, part, deps())));
    expect(outcomes.reduce((n, o) => n + o.applied, 0)).toBe(40);
    const stored = await rows(client, keyspace);
    expect(stored.size).toBe(40);
    expect(new Set(stored.values()).size).toBe(1);
  });

  it('window partials from concurrent invocations add up to each reading once', async () => {
    const { client, keyspace, deps } = await setup();
    const job = createSensorStatsJob(
      { windowSeconds: 60, slideSeconds: 60, allowedLatenessSeconds: 60, failOnDataLoss: false },
      { name: uniqueName('stats-') },
    );
    const t0 = Date.UTC(2026, 4, 21, 2, 0, 0);
    const part = records('sensor-readings', 0, 50, (o) =>
      JSON.stringify({ sensorId: `s${o % 3}`, ts: t0 + o * 100, value: o }),
    );
    await Promise.all([
      processPartition(job, { ...part, records: part.records.slice(0, 30) }, deps()),
      processPartition(job, part, deps()),
      processPartition(job, part, deps()),
    ]);
    const rs = await client.execute(
      `SELECT sensor_id, reading_count, value_sum FROM ${keyspace}.sensor_stats`,
    );
    const got = Object.fromEntries(
      rs.rows.map((r) => [
        r.get('sensor_id') as string,
        [Number(r.get('reading_count') as bigint), r.get('value_sum') as number],
      ]),
    );
    const expected: Record<string, [number, number]> = {};
    for (let o = 0; o < 50; o++) {
      const cur = expected[`s${o % 3}`] ?? [0, 0];
      expected[`s${o % 3}`] = [cur[0] + 1, cur[1] + o];
    }
    expect(got).toEqual(expected);
  });
});

describe('skipped ranges and redrive on Cassandra', () => {
  it('a batch given up after a partial attempt is registered, survives the round trip, and is redriven once', async () => {
    const { client, keyspace, checkpoints, sink, job, part, deps } = await setup();
    const ref = { job: job.name, topic: 'test', partition: 0 };
    await processPartition(job, { ...part, records: part.records.slice(0, 10) }, deps());
    // The attempt on [10, 20) writes 4 rows and dies; the event source gives up on it.
    const dying = delegatingSink(sink, {
      write: async (writes) => {
        await sink.write(writes.slice(0, 4));
        throw new Crash('crash after 4 writes');
      },
    });
    await expect(
      processPartition(job, { ...part, records: part.records.slice(10, 20) }, deps({ sink: dying })),
    ).rejects.toThrow(Crash);
    const written = await rows(client, keyspace);

    const next = await processPartition(job, { ...part, records: part.records.slice(20, 25) }, deps());

    expect(next).toMatchObject({ applied: 5, skipped: 10n });
    expect(await checkpoints.read(ref)).toMatchObject({ nextOffset: 25n, lane: 20n, pendingSkip: null });
    const [range] = await checkpoints.listSkipped(ref);
    expect(range).toMatchObject({
      fromOffset: 10n,
      untilOffset: 20n,
      status: 'pending',
      claimed: true,
      cursor: { nextOffset: 10n, lane: 0n },
    });
    expect(range!.cursor.claim).toMatchObject({ until: 20n });

    const redrive = await processPartition(
      job,
      { ...part, records: part.records.slice(10, 20) },
      { ...deps(), mode: 'redrive', contiguousFrom: 10n },
    );
    expect(redrive).toMatchObject({ applied: 10, lost: 0n });
    const all = await rows(client, keyspace);
    expect(all.size).toBe(25);
    for (const [sent, row] of written) expect(all.get(sent)).toEqual(row);
    expect(await checkpoints.readSkipped(ref, 10n)).toMatchObject({ status: 'redriven', redriven: 10 });
    // Again: nothing left to apply.
    expect(
      await processPartition(
        job,
        { ...part, records: part.records.slice(10, 20) },
        { ...deps(), mode: 'redrive', contiguousFrom: 10n },
      ),
    ).toMatchObject({ applied: 0, duplicates: 10 });
  });

  it('a checkpoint written with a pending skip is read back whole (the slot is JSON in one column)', async () => {
    const { checkpoints } = await setup();
    const ref = { job: uniqueName('job-'), topic: 'test', partition: 3 };
    const range = {
      fromOffset: 5n,
      untilOffset: 9n,
      reason: 'gap',
      status: 'pending' as const,
      detectedAt: new Date('2026-11-29T10:00:00.123Z'),
      detectedBy: 'b-1',
      claimed: true,
      onFailure: null,
      cursor: {
        nextOffset: 5n,
        watermarkMs: 1_700_000_000_000,
        claim: { id: 'b-0', until: 9n, time: new Date('2026-11-29T09:59:59.5Z') },
        lane: 0n,
      },
      redriven: 0,
      lost: 0n,
      redrivenAt: null,
    };
    const checkpoint = {
      nextOffset: 9n,
      watermarkMs: 1_700_000_000_000,
      claim: null,
      lane: 9n,
      firstOffset: 0n,
      pendingSkip: range,
    };
    expect(await checkpoints.create(ref, checkpoint)).toBe(true);
    expect(await checkpoints.read(ref)).toEqual(checkpoint);
  });
});

describe('the local schema, created by an older version', () => {
  it('gains the columns it lacks, and a changed primary key fails naming the fix', async () => {
    const { client, keyspace, config } = await freshKeyspace();
    await client.execute(`ALTER TABLE ${keyspace}.batch_ledger DROP partitions`, [], { prepare: false });
    await ensureSchema(client, config, SHIPPED_JOBS);
    const cols = await client.execute(
      "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = 'batch_ledger'",
      [keyspace],
    );
    expect(cols.rows.map((r) => r.get('column_name') as string)).toContain('partitions');

    await client.execute(`DROP TABLE ${keyspace}.sensor_stats`, [], { prepare: false });
    await client.execute(
      `CREATE TABLE ${keyspace}.sensor_stats (sensor_id text, window_spec text, window_start timestamp, topic text, ` +
        'kafka_partition int, covered_offset bigint, PRIMARY KEY ((sensor_id, window_spec), window_start, topic, kafka_partition))',
      [],
      { prepare: false },
    );
    await expect(ensureSchema(client, config, SHIPPED_JOBS)).rejects.toThrow(
      /sensor_stats was created by an older schema: its clustering columns are \(window_start ASC, topic ASC, kafka_partition ASC\), where this version has \(window_start ASC, topic ASC, kafka_partition ASC, lane ASC\)\..*microbatch reset/,
    );
  });
});
