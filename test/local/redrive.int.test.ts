/**
 * Skipped ranges and `redrive` end to end, on the real local Kafka and Cassandra: the runner gives up on a batch
 * that was partly applied, writes Lambda's on-failure record, the next batch registers the range, and the local
 * redrive re-applies it through the handler: every offset exactly once (issue 8, item 2).
 */
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSourceRunner } from '../../local/runner';
import { openLocalRuntime } from '../../local/app';
import { redriveLocally } from '../../local/redrive';
import { runMicroBatch, type BatchReport } from '../../lambda/runtime/batch';
import { CassandraCheckpointStore, CassandraSinkStore } from '../../lambda/runtime/cassandra-store';
import { SinkError } from '../../lambda/runtime/errors';
import { parseMskEvent } from '../../lambda/runtime/event';
import { createSentReceivedJob } from '../../lambda/jobs/sent-received';
import { createSensorStatsJob } from '../../lambda/jobs/sensor-stats';
import { windowResults } from '../../lambda/runtime/queries';
import type { Job } from '../../lambda/runtime/job';
import { referenceWindows } from '../support/reference';
import { delegatingSink } from '../support/memory-store';
import {
  closeCassandra,
  count,
  endpoints,
  freshKeyspace,
  freshTopic,
  sendInTransactions,
  sendValues,
  source,
  uniqueName,
  waitFor,
} from '../support/integration';
import { SENSOR_STATS, windowKeyColumn } from '../../schema';
import type { FilterPattern } from '../../config/filters';

const SENSOR_STATS_VIEW = { table: SENSOR_STATS.name, keyColumn: windowKeyColumn(SENSOR_STATS) };

afterAll(closeCassandra);

/**
 * Runs the live job on a fresh topic whose sink throttles every write of the records `failing` picks, so that
 * their batch fails after writing the others, until the runner gives up on it.
 */
async function liveWithAFailingBatch(
  job: Job,
  topic: string,
  keyspace: string,
  failing: (values: Readonly<Record<string, unknown>>) => boolean,
  filters: readonly FilterPattern[] = [],
) {
  const runtime = await openLocalRuntime(endpoints, keyspace);
  onTestFinished(() => runtime.close());
  const sink = new CassandraSinkStore(runtime.client, keyspace);
  const throttle = () => new SinkError('throughput exceeded (throttled)', true);
  const throttled = delegatingSink(sink, {
    write: async (writes) => {
      const ok = writes.filter((w) => !failing(w.values));
      const rejected = await sink.write(ok);
      if (ok.length < writes.length) throw throttle();
      return rejected;
    },
    compareAndSetPartial: async (table, row, expected) => {
      if (failing(row)) throw throttle();
      return sink.compareAndSetPartial(table, row, expected);
    },
  });
  const onFailureDir = mkdtempSync(join(tmpdir(), 'on-failure-'));
  const reports: BatchReport[] = [];
  const runner = new EventSourceRunner({
    jobName: job.name,
    topics: [topic],
    source: source({ batchSize: 10, maxBatchingWindowSeconds: 0, retryAttempts: 1, filters }),
    brokers: endpoints.kafkaBrokers,
    onFailureDir,
    log: () => undefined,
    retryBaseDelayMs: 20,
    invoke: async (event) =>
      runMicroBatch(job, parseMskEvent(event), {
        checkpoints: new CassandraCheckpointStore(runtime.client, keyspace),
        sink: throttled,
        log: () => undefined,
        onReport: (r) => void reports.push(r),
        filters: filters.length > 0,
      }),
  });
  await runner.start();
  onTestFinished(() => runner.stop());
  return { runtime, runner, reports, onFailureDir };
}

/** A sent-received job on a topic and keyspace of its own, and 40 values one second apart to send it. */
async function sentReceivedOfItsOwn() {
  const topic = await freshTopic(1);
  const { client, keyspace } = await freshKeyspace();
  const job = createSentReceivedJob(
    { timeFormat: 'iso', failOnDataLoss: false },
    { name: uniqueName('sr-'), topics: [topic] },
  );
  const values = Array.from({ length: 40 }, (_, i) => new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString());
  return { topic, client, keyspace, job, values };
}

/**
 * Sends the first 30 values, waits for the runner to give up on the batch [20, 30) and write its on-failure
 * record, sends the rest, waits for the batch that finds the gap, and stops the runner. Returns the record's file.
 */
async function sendThroughAGiveUp(
  live: Awaited<ReturnType<typeof liveWithAFailingBatch>>,
  job: Job,
  topic: string,
  values: readonly string[],
): Promise<string> {
  await sendValues(
    topic,
    values.slice(0, 30).map((value) => ({ value })),
  );
  const file = join(live.onFailureDir, `${job.name}.jsonl`);
  await waitFor('the on-failure record', async () => (existsSync(file) ? true : undefined));
  await sendValues(
    topic,
    values.slice(30).map((value) => ({ value })),
  );
  await waitFor('the batch after the gap', async () =>
    live.reports.some((r) => r.skipped > 0n) ? true : undefined,
  );
  await live.runner.stop();
  return file;
}

describe('microbatch redrive, locally', () => {
  it('re-applies a batch the runner gave up on after a partial attempt, exactly once', async () => {
    const { topic, client, keyspace, job, values } = await sentReceivedOfItsOwn();
    // The third batch ([20, 30)) holds 25: its writes are throttled, so the batch fails after the other rows.
    const poisoned = values[25]!;
    const live = await liveWithAFailingBatch(job, topic, keyspace, (v) => v.time_sent === poisoned);
    const file = await sendThroughAGiveUp(live, job, topic, values);
    const partial = await client.execute(`SELECT time_sent, time_received FROM ${keyspace}.sent_received`);
    // 0..19 and 30..39 live, and 20..29 but 25 from the failed attempt.
    expect(partial.rows.length).toBe(39);

    const result = await redriveLocally({
      job,
      source: source(),
      runtime: live.runtime,
      brokers: endpoints.kafkaBrokers,
      onFailureDir: live.onFailureDir,
      log: () => undefined,
    });

    expect(result.registered.map((r) => r.outcome.status)).toEqual(['registered']);
    expect(result.summary).toMatchObject({ attempted: 1, stillPending: [], redrivenRecords: 10, lost: 0n });
    const rows = await client.execute(`SELECT time_sent, time_received FROM ${keyspace}.sent_received`);
    expect(rows.rows.map((r) => r.get('time_sent') as string).sort()).toEqual([...values].sort());
    // The rows the failed attempt wrote were rewritten with the same pinned time.
    const now = new Map(rows.rows.map((r) => [r.get('time_sent'), r.get('time_received')]));
    for (const r of partial.rows) expect(now.get(r.get('time_sent'))).toBe(r.get('time_received'));
    const [range] = await live.runtime.checkpoints.listSkipped({ job: job.name, topic, partition: 0 });
    expect(range).toMatchObject({
      fromOffset: 20n,
      untilOffset: 30n,
      status: 'redriven',
      claimed: true,
      redriven: 10,
      reason: 'gap',
    });
    expect(range!.onFailure).toMatch(/RetryAttemptsExhausted/);
    // The handled record moved aside; a second redrive finds nothing to do.
    expect(readFileSync(file, 'utf8')).toBe('');
    expect(readFileSync(join(live.onFailureDir, `${job.name}.redriven.jsonl`), 'utf8')).toMatch(
      /recordsInfo/,
    );
    const again = await redriveLocally({
      job,
      source: source(),
      runtime: live.runtime,
      brokers: endpoints.kafkaBrokers,
      onFailureDir: live.onFailureDir,
      log: () => undefined,
    });
    expect(again.summary).toMatchObject({ attempted: 0, redrivenRecords: 0 });
    expect(await count(client, keyspace, 'sent_received')).toBe(40);
  });

  it("GIVEN a transactional producer's markers and aborted records between batches THEN the redrive closes their ranges, losing nothing", async () => {
    // GIVEN the live job reading each transaction in a batch of its own: committed, aborted, committed. The event
    // source never delivers a marker or an aborted record, so the third transaction's batch finds a gap (the first
    // marker, the aborted records and their marker) it must keep as a skipped range: it cannot tell it from a loss.
    const { topic, client, keyspace, job } = await sentReceivedOfItsOwn();
    const live = await liveWithAFailingBatch(job, topic, keyspace, () => false);
    const first = await sendInTransactions(topic, [[3, 'commit']]);
    await waitFor('the first transaction', async () =>
      (await count(client, keyspace, 'sent_received')) === 3 ? true : undefined,
    );
    const rest = await sendInTransactions(
      topic,
      [
        [2, 'abort'],
        [4, 'commit'],
      ],
      first.length,
    );
    await waitFor('the batch after the gap', async () =>
      live.reports.some((r) => r.skipped > 0n) ? true : undefined,
    );
    await live.runner.stop();
    const ref = { job: job.name, topic, partition: 0 };
    expect(await live.runtime.checkpoints.listSkipped(ref)).toMatchObject([
      { fromOffset: 3n, untilOffset: 7n, status: 'pending' },
    ]);

    // WHEN it is redriven
    const result = await redriveLocally({
      job,
      source: source(),
      runtime: live.runtime,
      brokers: endpoints.kafkaBrokers,
      onFailureDir: live.onFailureDir,
      log: () => undefined,
    });

    // THEN the range is closed with nothing applied and nothing lost (unfixed, it stayed pending: no record ever
    // moved its cursor), and the rows are the committed records, once each
    expect(result.summary).toMatchObject({ attempted: 1, stillPending: [], redrivenRecords: 0, lost: 0n });
    expect(await live.runtime.checkpoints.listSkipped(ref)).toMatchObject([
      { fromOffset: 3n, untilOffset: 7n, status: 'redriven', redriven: 0, lost: 0n },
    ]);
    const rows = await client.execute(`SELECT time_sent FROM ${keyspace}.sent_received`);
    expect(rows.rows.map((r) => r.get('time_sent') as string).sort()).toEqual([...first, ...rest].sort());
  });

  it("leaves out of a redrive what the event source's filters drop: they are still in Kafka", async () => {
    // GIVEN filters that drop one record of every ten, and a batch given up after a partial attempt
    const { topic, client, keyspace, job, values } = await sentReceivedOfItsOwn();
    const dropped = [values[7]!, values[17]!, values[27]!, values[37]!];
    const filters = [{ value: [{ 'anything-but': dropped }] }];
    const poisoned = values[25]!;
    const live = await liveWithAFailingBatch(job, topic, keyspace, (v) => v.time_sent === poisoned, filters);
    await sendThroughAGiveUp(live, job, topic, values);

    // WHEN the redrive reads the range back from Kafka, the dropped record in it included
    const result = await redriveLocally({
      job,
      source: source({ filters }),
      runtime: live.runtime,
      brokers: endpoints.kafkaBrokers,
      onFailureDir: live.onFailureDir,
      log: () => undefined,
    });

    // THEN every record the filters let through has its row, and none they dropped
    expect(result.summary).toMatchObject({ stillPending: [], lost: 0n });
    const rows = await client.execute(`SELECT time_sent FROM ${keyspace}.sent_received`);
    expect(rows.rows.map((r) => r.get('time_sent') as string).sort()).toEqual(
      values.filter((v) => !dropped.includes(v)).sort(),
    );
  });

  it('folds a redriven window range into the lane its first attempt used: every reading counted once', async () => {
    const topic = await freshTopic(1);
    const { client, keyspace } = await freshKeyspace();
    const job = createSensorStatsJob(
      { windowSeconds: 10, slideSeconds: 10, allowedLatenessSeconds: 3600, failOnDataLoss: false },
      { name: uniqueName('ss-'), topics: [topic] },
    );
    const t0 = Date.UTC(2030, 0, 1, 0, 0, 0);
    const readings = Array.from({ length: 40 }, (_, i) => ({
      sensorId: `s${i % 3}`,
      ts: t0 + i * 700,
      value: (i * 13) % 29,
    }));
    // Sensor s1's partial writes throttle in the third batch only: the others of that batch are folded.
    const live = await liveWithAFailingBatch(
      job,
      topic,
      keyspace,
      (v) => v.sensor_id === 's1' && Number(v.covered_offset) >= 20 && Number(v.covered_offset) < 30,
    );
    await sendValues(
      topic,
      readings.slice(0, 30).map((r) => ({ value: JSON.stringify(r) })),
    );
    const file = join(live.onFailureDir, `${job.name}.jsonl`);
    await waitFor('the on-failure record', async () => (existsSync(file) ? true : undefined));
    await sendValues(
      topic,
      readings.slice(30).map((r) => ({ value: JSON.stringify(r) })),
    );
    await waitFor('the batch after the gap', async () =>
      live.reports.some((r) => r.skipped > 0n) ? true : undefined,
    );
    await live.runner.stop();

    await redriveLocally({
      job,
      source: source(),
      runtime: live.runtime,
      brokers: endpoints.kafkaBrokers,
      onFailureDir: live.onFailureDir,
      log: () => undefined,
    });

    const { windows: expected } = referenceWindows([readings], { sizeMs: 10_000 }, 3_600_000);
    const got = new Map<string, { count: number; sum: number; min: number; max: number }>();
    for (const sensorId of ['s0', 's1', 's2']) {
      for (const w of await windowResults(client, keyspace, {
        view: SENSOR_STATS_VIEW,
        key: sensorId,
        windowSpec: 'tumbling:10000',
        from: new Date(t0 - 60_000),
        to: new Date(t0 + 3_600_000),
      })) {
        got.set(`${sensorId}|${w.windowStart.getTime()}`, {
          count: w.count,
          sum: w.sum,
          min: w.min,
          max: w.max,
        });
      }
    }
    expect(got).toEqual(expected);
  });
});
