/**
 * `npm run chaos`: the fault suite, against the real local Kafka and Cassandra.
 *
 * A producer sends keyed sensor readings (some late, some malformed) to a topic of the run's own, while the live
 * job runs in child processes and a schedule of faults hits them: runners killed, stopped gracefully, frozen past
 * their session and joined by a second member; Kafka's and Cassandra's JVMs killed and restarted; a replay while
 * the job runs; batches made to fail until the event source skips them; a redrive. At the end the job catches up,
 * the skipped ranges are redriven, and the results are checked against a reference computed from the topic itself
 * (read back with a plain consumer, not through the pipeline): every window exactly, every dead letter once, no
 * skipped range left. A table says what each fault cost.
 *
 *   npm run chaos -- --records 100000 --faults 18
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from '../../lambda/runtime/kafkajs';
import { openLocalRuntime, REPO_ROOT, type LocalRuntime } from '../app';
import { redriveLocally } from '../redrive';
import { ensureSchema, ensureTopics } from '../setup';
import * as services from '../services';
import { withKafkaRetry } from '../runner';
import { onJsonLines } from '../json-lines';
import { loadConfig, objectGetter } from '../../config';
import { kafkaRangeReader } from '../../lambda/runtime/redrive';
import { deadLetters, windowResults } from '../../lambda/runtime/queries';
import sensorStats from '../../lambda/jobs/sensor-stats';
import { SENSOR_STATS, windowKeyColumn } from '../../schema';
import { validateReading } from '../../lambda/jobs/sensor-stats';
import { advanceWatermark, isLate, windowSpecId, windowStartsFor } from '../../lambda/runtime/windows';
import { renderTable } from '../table';
import { CHAOS_LATENESS_SECONDS, CHAOS_WINDOW_SECONDS, chaosJob, chaosSource } from './job';
import { DEFAULT_PLAN, reading, seqOf, type WindowStats } from './readings';

export const FAULT_KINDS = [
  'kill-runner',
  'term-runner',
  'skip-batch',
  'redrive',
  'rebalance',
  'replay',
  'stop-runner',
  'kill-kafka',
  'kill-cassandra',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  readonly records: number;
  readonly faults: number;
  /** Records per second; by default spread over the time the faults are expected to take. */
  readonly rate?: number;
  readonly partitions?: number;
  /** Keep the topic and keyspace afterwards, to look at them. */
  readonly keep?: boolean;
  readonly log?: (line: string) => void;
}

export interface FaultResult {
  readonly kind: FaultKind;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** Until the next batch was committed after the fault ended (null: none came, the stream was drained). */
  readonly recoveryMs: number | null;
  /** Failed invocations between the start of the fault and the recovery. */
  readonly retried: number;
  readonly note: string;
}

export interface ChaosReport {
  readonly runId: string;
  readonly records: number;
  /** Records in the topic at the end (a producer retry may have written one twice: both count). */
  readonly inKafka: number;
  readonly faults: readonly FaultResult[];
  readonly windows: { readonly expected: number; readonly matching: number };
  /** Readings applied more than once (window counts above the reference) and never applied (below it). */
  readonly duplicated: number;
  readonly lost: number;
  readonly deadLetters: { readonly expected: number; readonly found: number; readonly wrong: number };
  readonly skippedRanges: { readonly total: number; readonly pending: number; readonly lostOffsets: bigint };
  readonly gracefulExitCodes: readonly (number | null)[];
  readonly durationMs: number;
  readonly ok: boolean;
  readonly problems: readonly string[];
}

/** One runner child process, with the events it printed. */
class Child {
  readonly events: Array<Record<string, unknown> & { at: number; event: string }> = [];
  readonly exited: Promise<number | null>;
  private readonly process: ChildProcess;

  constructor(env: Record<string, string>) {
    // tsx's register hook, not its CLI: the CLI runs the script in a process of its own, so a signal sent to
    // the CLI's process (SIGKILL above all) would not reach the runner.
    this.process = spawn(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), join(__dirname, 'child.ts')],
      {
        env: { ...process.env, ...env, NODE_OPTIONS: '--max-semi-space-size=64' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    onJsonLines(this.process.stdout!, (value) => this.events.push(value as Child['events'][number]));
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)));
  }

  signal(signal: NodeJS.Signals): void {
    this.process.kill(signal);
  }

  async waitFor(event: string, after: number, timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const hit = this.events.find((e) => e.event === event && e.at >= after);
      if (hit) return hit.at;
      await sleep(100);
    }
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.error(line));
  const runId = randomUUID().slice(0, 8);
  const topic = `chaos-${runId}`;
  const jobName = `chaos-${runId}`;
  const keyspace = `chaos_${runId}`;
  const group = `chaos-${runId}`;
  const partitions = options.partitions ?? 4;
  const dir = join(REPO_ROOT, '.local', 'chaos', runId);
  mkdirSync(dir, { recursive: true });
  const problems: string[] = [];

  const up = await services.up({ log: () => undefined });
  const endpoints = up.endpoints;
  const kafka = new Kafka({
    clientId: `chaos-${runId}`,
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const runtime: LocalRuntime = await openLocalRuntime(endpoints, keyspace);
  await ensureSchema(
    runtime.client,
    loadConfig(objectGetter({ keyspace: { name: keyspace } }), [sensorStats]),
    [sensorStats],
  );
  await ensureTopics(endpoints.kafkaBrokers, [{ topic, partitions }]);
  const job = chaosJob(jobName, topic);
  log(
    `chaos ${runId}: ${options.records} records, ${options.faults} faults, topic ${topic}, keyspace ${keyspace}`,
  );

  const childEnv = (mode: 'live' | 'replay', from?: number) => ({
    CHAOS_MODE: mode,
    CHAOS_DIR: dir,
    CHAOS_KEYSPACE: keyspace,
    CHAOS_JOB: jobName,
    CHAOS_TOPIC: topic,
    CHAOS_GROUP: mode === 'live' ? group : `${group}-replay-${Date.now()}`,
    ...(from === undefined ? {} : { CHAOS_FROM: String(from) }),
  });
  const live: Child[] = [new Child(childEnv('live'))];
  const gracefulExitCodes: (number | null)[] = [];
  const allLive = () => live;

  // The producer: keyed readings at a steady rate, resent until Kafka takes them.
  // What a fault takes with its recovery, all kinds averaged (11.8 s on a quiet 2-core machine, in the full
  // run): the readings keep flowing through every fault, and the run is no longer than the faults need.
  const expectedFaultSeconds = options.faults * 12;
  const rate = options.rate ?? Math.max(20, Math.ceil(options.records / expectedFaultSeconds));
  let sent = 0;
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await withKafkaRetry(
    'connect the producer',
    () => producer.connect(),
    () => undefined,
  );
  const producing = (async () => {
    const perTick = Math.max(1, Math.round(rate / 10));
    while (sent < options.records) {
      const tick = Date.now();
      const n = Math.min(perTick, options.records - sent);
      const messages = Array.from({ length: n }, (_, i) => {
        const r = reading(sent + i, tick);
        return { key: r.sensorId, value: r.value };
      });
      for (;;) {
        try {
          await producer.send({ topic, messages });
          break;
        } catch {
          await sleep(500); // Kafka is down (a fault): send the same readings again once it is back.
        }
      }
      sent += n;
      const wait = 100 - (Date.now() - tick);
      if (wait > 0) await sleep(wait);
    }
  })();

  await live[0]!.waitFor('batch', 0, 120_000);
  const results: FaultResult[] = [];
  for (let i = 0; i < options.faults; i++) {
    const kind = FAULT_KINDS[i % FAULT_KINDS.length]!;
    const startedAtMs = Date.now();
    const note = await inject(kind);
    const endedAtMs = Date.now();
    const recoveredAt = await nextBatch(endedAtMs, 120_000);
    const retried = allLive()
      .flatMap((c) => c.events)
      .filter(
        (e) =>
          e.event === 'runner' &&
          e.message === 'handler failed' &&
          e.at >= startedAtMs &&
          e.at <= (recoveredAt ?? Date.now()),
      ).length;
    const result: FaultResult = {
      kind,
      startedAtMs: startedAtMs - started,
      endedAtMs: endedAtMs - started,
      recoveryMs: recoveredAt === undefined ? null : Math.max(0, recoveredAt - endedAtMs),
      retried,
      note,
    };
    results.push(result);
    log(
      `fault ${i + 1}/${options.faults} ${kind} at ${(result.startedAtMs / 1000).toFixed(1)} s: ${note}; ` +
        `recovered in ${result.recoveryMs === null ? '-' : `${(result.recoveryMs / 1000).toFixed(1)} s`}, ${retried} retried`,
    );
    await sleep(1000);
  }
  await producing;
  await producer.disconnect();
  log(`produced ${sent}; waiting for the job to catch up`);
  await caughtUp(300_000);
  for (const child of live) child.signal('SIGTERM');
  for (const child of live) gracefulExitCodes.push(await child.exited);

  log('redriving what was skipped');
  const redrive = await redriveLocally({
    job,
    source: chaosSource(group),
    runtime,
    brokers: endpoints.kafkaBrokers,
    onFailureDir: dir,
    log: (line) => {
      if (line.level !== 'INFO')
        log(JSON.stringify(line, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    },
  });
  if (redrive.registered.some((r) => r.outcome.status === 'waiting'))
    problems.push('an on-failure range is still ahead of the live checkpoint after the job caught up');

  const verification = await verify();
  if (!options.keep) {
    await runtime.client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { prepare: false });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
  await runtime.close();

  const report: ChaosReport = {
    runId,
    records: options.records,
    faults: results,
    gracefulExitCodes,
    durationMs: Date.now() - started,
    ...verification,
    ok: false,
    problems,
  };
  if (gracefulExitCodes.some((c) => c !== 0))
    problems.push(`a graceful stop exited ${gracefulExitCodes.join(', ')}`);
  if (report.duplicated) problems.push(`${report.duplicated} reading(s) applied more than once`);
  if (report.lost) problems.push(`${report.lost} reading(s) never applied`);
  if (report.windows.matching !== report.windows.expected)
    problems.push(`${report.windows.expected - report.windows.matching} window(s) differ from the reference`);
  if (report.deadLetters.wrong || report.deadLetters.found !== report.deadLetters.expected)
    problems.push(
      `dead letters: ${report.deadLetters.found} found, ${report.deadLetters.expected} expected, ${report.deadLetters.wrong} wrong`,
    );
  if (report.skippedRanges.pending)
    problems.push(`${report.skippedRanges.pending} skipped range(s) still pending`);
  if (report.skippedRanges.lostOffsets) problems.push(`${report.skippedRanges.lostOffsets} offset(s) lost`);
  const done = { ...report, ok: problems.length === 0 };
  mkdirSync(join(REPO_ROOT, '.local', 'chaos'), { recursive: true });
  writeFileSync(
    join(REPO_ROOT, '.local', 'chaos', `${runId}.json`),
    JSON.stringify(done, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2),
  );
  return done;

  /** The first batch committed by any live runner after `after`. */
  async function nextBatch(after: number, timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const at = allLive()
        .flatMap((c) => c.events)
        .filter((e) => e.event === 'batch' && e.at >= after)
        .map((e) => e.at)
        .sort((a, b) => a - b)[0];
      if (at !== undefined) return at;
      if (sent >= options.records && (await lag()) === 0n) return undefined;
      await sleep(200);
    }
    return undefined;
  }

  async function lag(): Promise<bigint> {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      let behind = 0n;
      for (const p of ends) {
        const c = committed!.partitions.find((x) => x.partition === p.partition)?.offset ?? '-1';
        behind += BigInt(p.high) - (c === '-1' ? BigInt(p.low) : BigInt(c));
      }
      return behind;
    } catch {
      return -1n;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async function caughtUp(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await lag()) === 0n) return;
      await sleep(1000);
    }
    problems.push(`the job did not catch up within ${timeoutMs / 1000} s`);
  }

  /** Runs one fault; returns a note of what it did. */
  async function inject(kind: FaultKind): Promise<string> {
    const current = live[live.length - 1]!;
    switch (kind) {
      case 'kill-runner':
      case 'term-runner': {
        // In the middle of a batch: right after one starts.
        await current.waitFor('invoke', Date.now(), 30_000);
        current.signal(kind === 'kill-runner' ? 'SIGKILL' : 'SIGTERM');
        const code = await current.exited;
        if (kind === 'term-runner') gracefulExitCodes.push(code);
        live.splice(live.indexOf(current), 1);
        live.push(new Child(childEnv('live')));
        return kind === 'kill-runner'
          ? 'SIGKILL mid-batch, restarted'
          : `SIGTERM mid-batch (exit ${code}), restarted`;
      }
      case 'stop-runner': {
        const frozenMs = 13_000; // longer than the runner's 10 s session
        current.signal('SIGSTOP');
        await sleep(frozenMs);
        current.signal('SIGCONT');
        return `SIGSTOP for ${frozenMs / 1000} s (past the session timeout), then SIGCONT`;
      }
      case 'rebalance': {
        const second = new Child(childEnv('live'));
        live.push(second);
        const batch = await second.waitFor('batch', Date.now(), 30_000);
        second.signal('SIGTERM');
        gracefulExitCodes.push(await second.exited);
        live.splice(live.indexOf(second), 1);
        return `a second runner joined the group${batch ? ' and took a batch' : ''}, then left`;
      }
      case 'replay': {
        const replay = new Child(childEnv('replay', started));
        const code = await replay.exited;
        const batches = replay.events.filter((e) => e.event === 'batch').length;
        if (code !== 0) problems.push(`the replay exited ${code}`);
        return `replay from the start while the job ran: ${batches} batches, exit ${code}`;
      }
      case 'skip-batch': {
        const failSwitch = join(dir, 'fail-writes');
        writeFileSync(failSwitch, '');
        const since = Date.now();
        // Until the runner gave up on at least one batch (two retries, then the on-failure record).
        const deadline = Date.now() + 30_000;
        while (
          Date.now() < deadline &&
          !allLive().some((c) => c.events.some((e) => e.at >= since && /on-failure/.test(String(e.message))))
        )
          await sleep(200);
        rmSync(failSwitch, { force: true });
        return 'writes refused until a batch went to the on-failure destination';
      }
      case 'redrive': {
        const r = await redriveLocally({
          job,
          source: chaosSource(group),
          runtime,
          brokers: endpoints.kafkaBrokers,
          onFailureDir: dir,
          log: () => undefined,
        });
        return `redrive while the job ran: ${r.summary.attempted} range(s), ${r.summary.redrivenRecords} record(s) applied`;
      }
      case 'kill-kafka':
      case 'kill-cassandra': {
        const service = kind === 'kill-kafka' ? 'kafka' : 'cassandra';
        if (up.mode !== 'native')
          return `skipped: ${service}'s JVM can be killed in native mode only (${up.mode})`;
        const status = (await services.status()).find((s) => s.service === service);
        if (!status?.pid) return `skipped: no ${service} process of ours to kill`;
        process.kill(status.pid, 'SIGKILL');
        await sleep(2000);
        const t0 = Date.now();
        await services.up({ log: () => undefined });
        return `SIGKILL of ${service}'s JVM, restarted in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
      }
    }
  }

  async function verify() {
    // The reference, from the topic itself: per partition, in offset order, the job's own decoding rules and the
    // watermark rule, and nothing of the checkpoint protocol.
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const topicRecords: Array<{ partition: number; offset: bigint; value: string }> = [];
    await kafkaRangeReader(kafka, () => `${group}-verify`)(
      topic,
      new Map(offsets.map((p) => [p.partition, { from: BigInt(p.low), until: BigInt(p.high) }])),
      async (partition, records) => {
        for (const r of records)
          topicRecords.push({ partition, offset: r.offset, value: r.value?.toString() ?? '' });
      },
    );
    const windowMs = CHAOS_WINDOW_SECONDS * 1000;
    const expected = new Map<string, WindowStats>();
    const expectedLetters = new Map<string, string>();
    const sensors = new Set<string>();
    let minTs = Infinity;
    let maxTs = -Infinity;
    for (let partition = 0; partition < partitions; partition++) {
      let watermark: number | null = null;
      const records = topicRecords
        .filter((r) => r.partition === partition)
        .sort((a, b) => (a.offset < b.offset ? -1 : 1));
      for (const r of records) {
        const at = `${partition}:${r.offset}`;
        let parsed: unknown;
        try {
          parsed = JSON.parse(r.value);
        } catch {
          expectedLetters.set(at, 'invalid-json');
          continue;
        }
        let value;
        try {
          value = validateReading(parsed);
        } catch {
          expectedLetters.set(at, 'schema');
          continue;
        }
        if (isLate(watermark, value.ts)) {
          expectedLetters.set(at, 'late');
          continue;
        }
        watermark = advanceWatermark(watermark, value.ts, CHAOS_LATENESS_SECONDS * 1000);
        sensors.add(value.sensorId);
        minTs = Math.min(minTs, value.ts);
        maxTs = Math.max(maxTs, value.ts);
        for (const start of windowStartsFor(value.ts, { sizeMs: windowMs, slideMs: windowMs })) {
          const id = `${value.sensorId}|${start}`;
          const cur = expected.get(id);
          expected.set(
            id,
            cur
              ? {
                  count: cur.count + 1,
                  sum: cur.sum + value.value,
                  min: Math.min(cur.min, value.value),
                  max: Math.max(cur.max, value.value),
                }
              : { count: 1, sum: value.value, min: value.value, max: value.value },
          );
        }
      }
    }
    // The data is built so that lateness cannot depend on batch boundaries (readings.ts): check it is.
    const designedLate = topicRecords.filter((r) => {
      const seq = seqOf(r.value);
      return seq !== undefined && reading(seq, 0, DEFAULT_PLAN).kind === 'late';
    }).length;
    const referenceLate = [...expectedLetters.values()].filter((v) => v === 'late').length;
    if (designedLate !== referenceLate)
      problems.push(`the reference finds ${referenceLate} late readings where the data has ${designedLate}`);

    const actual = new Map<string, WindowStats>();
    for (const sensorId of sensors) {
      for (const w of await windowResults(runtime.client, keyspace, {
        view: { table: SENSOR_STATS.name, keyColumn: windowKeyColumn(SENSOR_STATS) },
        key: sensorId,
        windowSpec: windowSpecId({ sizeMs: windowMs, slideMs: windowMs }),
        from: new Date(minTs - windowMs),
        to: new Date(maxTs + windowMs),
      })) {
        actual.set(`${sensorId}|${w.windowStart.getTime()}`, {
          count: w.count,
          sum: w.sum,
          min: w.min,
          max: w.max,
        });
      }
    }
    let matching = 0;
    let duplicated = 0;
    let lost = 0;
    for (const id of new Set([...expected.keys(), ...actual.keys()])) {
      const e = expected.get(id);
      const a = actual.get(id);
      if (e && a && e.count === a.count && e.sum === a.sum && e.min === a.min && e.max === a.max) matching++;
      const diff = (a?.count ?? 0) - (e?.count ?? 0);
      if (diff > 0) duplicated += diff;
      else lost -= diff;
    }

    const found = new Map<string, string>();
    for (let partition = 0; partition < partitions; partition++) {
      for (const d of await deadLetters(runtime.client, keyspace, jobName, topic, partition, 1_000_000))
        found.set(`${partition}:${d.offset}`, d.reason);
    }
    let wrong = 0;
    for (const [at, reason] of found) if (expectedLetters.get(at) !== reason) wrong++;
    for (const at of expectedLetters.keys()) if (!found.has(at)) wrong++;

    let total = 0;
    let pending = 0;
    let lostOffsets = 0n;
    for (let partition = 0; partition < partitions; partition++) {
      for (const r of await runtime.checkpoints.listSkipped({ job: jobName, topic, partition })) {
        total++;
        if (r.status === 'pending') pending++;
        lostOffsets += r.lost;
      }
    }
    return {
      inKafka: topicRecords.length,
      windows: { expected: expected.size, matching },
      duplicated,
      lost,
      deadLetters: { expected: expectedLetters.size, found: found.size, wrong },
      skippedRanges: { total, pending, lostOffsets },
    };
  }
}

/** The report as tables, for the terminal and for the README. */
export function renderReport(report: ChaosReport): string {
  const seconds = (ms: number | null) => (ms === null ? '-' : (ms / 1000).toFixed(1));
  return [
    renderTable(
      report.faults.map((f, i) => ({
        '#': i + 1,
        fault: f.kind,
        'at (s)': seconds(f.startedAtMs),
        'recovered in (s)': seconds(f.recoveryMs),
        retried: f.retried,
        what: f.note,
      })),
    ),
    '',
    `records: ${report.records} produced, ${report.inKafka} in Kafka`,
    `windows: ${report.windows.matching} of ${report.windows.expected} equal to the reference; ` +
      `${report.lost} reading(s) lost, ${report.duplicated} duplicated`,
    `dead letters: ${report.deadLetters.found} found, ${report.deadLetters.expected} expected, ${report.deadLetters.wrong} wrong`,
    `skipped ranges: ${report.skippedRanges.total}, ${report.skippedRanges.pending} pending, ${report.skippedRanges.lostOffsets} offsets lost`,
    `graceful stops exited ${report.gracefulExitCodes.join(', ') || '(none)'}`,
    `duration ${(report.durationMs / 1000).toFixed(0)} s: ${report.ok ? 'PASS' : `FAIL (${report.problems.join('; ')})`}`,
  ].join('\n');
}
