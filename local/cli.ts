/**
 * `microbatch`: the local mode's one entry point. `microbatch <command> --help` explains each command.
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { join } from 'node:path';
import { JOB_NAMES, isJobName, SENSOR_TOPIC, TEST_TOPIC, type JobName } from '../schema';
import { ConfigError, type PipelineConfig } from '../config';
import type { BatchReport } from '../lambda/runtime/batch';
import { recentBatches, recentSentReceived, sensorWindows, deadLetters } from '../lambda/runtime/queries';
import { windowSpecId } from '../lambda/runtime/windows';
import * as services from './services';
import { REPO_ROOT, jobFor, localConfig, openLocalRuntime, type LocalRuntime } from './app';
import { EventSourceRunner } from './runner';
import { ensureSchema, ensureTopics, SchemaDriftError, topicPlan } from './setup';
import { OnFailureRecordError } from '../lambda/runtime/redrive';
import { produce, progressBar, type ProduceMode } from './producer';
import { startUi } from './ui';
import { uiJobs } from './ui/jobs';
import { UI_OPTIONS, UI_USAGE, UiOptionError, startUiCommand } from './ui/command';
import { renderTable } from './table';
import { redriveLocally } from './redrive';
import { runPlanCommand } from './plan';

export const ON_FAILURE_DIR = join(REPO_ROOT, '.local', 'on-failure');

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<Parameters<typeof parseArgs>[0]>['options'];
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

const CONFIG_OPTION = { config: { type: 'string', short: 'c', multiple: true } } as const;
const CONFIG_HELP = '  -c, --config key=value   override a config key, as with cdk -c (repeatable)';

function configFrom(values: Record<string, unknown>): PipelineConfig {
  const overrides: Record<string, unknown> = {};
  for (const pair of (values.config as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`-c takes key=value, received '${pair}'.`);
    overrides[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return localConfig(overrides);
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function jobsFrom(positionals: string[]): JobName[] {
  if (!positionals.length) return [...JOB_NAMES];
  for (const p of positionals)
    if (!isJobName(p)) throw new UsageError(`Unknown job '${p}'. Jobs: ${JOB_NAMES.join(', ')}.`);
  return positionals as JobName[];
}

/** Spark's batch header, then the offset ranges and the counts. */
export function printBatch(report: BatchReport, n: number): void {
  const line = '-'.repeat(60);
  const out = [
    line,
    `Batch ${n}: ${report.job}  ${report.startedAt.toISOString()}  (${report.batchId.slice(0, 8)})`,
    line,
  ];
  for (const r of report.offsetRanges)
    out.push(
      `OffsetRange(topic: '${r.topic}', partition: ${r.partition}, range: [${r.fromOffset} -> ${r.untilOffset}])`,
    );
  out.push(
    `records in ${report.recordsIn}, written ${report.written}, duplicates ${report.duplicates}, dead-lettered ${report.deadLettered}, ` +
      `late ${report.late}${report.lost ? `, lost ${report.lost}` : ''}, ${report.durationMs} ms` +
      (report.watermarkMs === null ? '' : `, watermark ${new Date(report.watermarkMs).toISOString()}`),
  );
  console.log(out.join('\n'));
}

/** Deletes a throwaway consumer group (a replay's), so that they do not pile up in Kafka. */
async function deleteGroup(brokers: readonly string[], groupId: string): Promise<void> {
  const admin = new Kafka({
    clientId: 'microbatch-cli',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    // Best effort: an empty group left behind is harmless, and Kafka expires it.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The job's skipped ranges, like `data.show()`: what the event source skipped and where each redrive stands. */
async function printSkipped(rt: LocalRuntime, config: PipelineConfig, name: JobName): Promise<void> {
  const job = jobFor(name, config);
  const rows = [];
  for (const topic of job.topics) {
    for (let partition = 0; partition < (config.topics[topic]?.partitions ?? 1); partition++) {
      for (const r of await rt.checkpoints.listSkipped({ job: name, topic, partition })) {
        rows.push({
          topic,
          partition,
          range: `[${r.fromOffset}, ${r.untilOffset})`,
          reason: r.reason,
          status: r.status,
          claimed: r.claimed ? 'partly applied' : 'not applied',
          redriven: r.redriven,
          lost: r.lost.toString(),
          detected: r.detectedAt.toISOString(),
        });
      }
    }
  }
  console.log(rows.length ? renderTable(rows) : `${name}: no skipped ranges`);
}

async function setup(config: PipelineConfig, rt: LocalRuntime, endpoints: services.Endpoints): Promise<void> {
  await ensureSchema(rt.client, config);
  await ensureTopics(endpoints.kafkaBrokers, topicPlan(config));
}

/**
 * Starts one runner per job, each calling the same handler code as Lambda. Stops starting more once `stopping()`
 * is true (a Ctrl-C during start-up); the ones already started are returned, to be stopped gracefully.
 */
async function startRunners(
  jobs: readonly JobName[],
  config: PipelineConfig,
  rt: LocalRuntime,
  endpoints: services.Endpoints,
  json: boolean,
  stopping: () => boolean,
): Promise<EventSourceRunner[]> {
  const runners: EventSourceRunner[] = [];
  let n = 0;
  for (const name of jobs) {
    if (stopping()) break;
    const job = jobFor(name, config);
    const runner = new EventSourceRunner({
      jobName: name,
      topics: job.topics,
      source: config.jobs[name],
      brokers: endpoints.kafkaBrokers,
      onFailureDir: ON_FAILURE_DIR,
      invoke: rt.invoker(job, {
        log: logFor(json),
        filters: config.jobs[name].filters.length > 0,
        onReport: json ? undefined : (report) => printBatch(report, ++n),
      }),
    });
    await runner.start();
    runners.push(runner);
  }
  return runners;
}

/**
 * Graceful stop, installed before anything starts, so that a stop at any moment (even during start-up) exits 0
 * having committed nothing it did not finish. First Ctrl-C or SIGTERM: stop what is running (the batch in
 * flight finishes and is committed) and skip what was not started yet. Second: exit now; nothing is lost, since
 * what was not committed comes back on the next start and the checkpoints skip what was already applied.
 */
export class GracefulStop {
  private stopRequested = false;
  private stopping: (() => Promise<void>) | undefined;
  private finish!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(early: readonly NodeJS.Signals[] = []) {
    let signals = 0;
    const handler = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        console.error(`\n${signal} again: exiting without waiting for the batch in flight.`);
        process.exit(130);
      }
      console.error(
        `\n${signal}: stopping gracefully (finishing the batch in flight, committing). Press Ctrl-C again to force.`,
      );
      this.stopRequested = true;
      if (this.stopping) void this.stopping().finally(() => this.finish());
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    for (const signal of early) handler(signal);
  }

  /** A stop was asked for: start nothing more. */
  get requested(): boolean {
    return this.stopRequested;
  }

  /** Once everything is up: what a stop does. Resolves when a stop (now, or one already asked for) is done. */
  async whenStopped(stop: () => Promise<void>): Promise<void> {
    this.stopping = stop;
    if (this.stopRequested) await stop().finally(() => this.finish());
    return this.finished;
  }
}

/** Warnings and errors as JSON on stderr; the INFO progress line only in --json mode (the human view prints its own block). */
function logFor(json: boolean): (line: Record<string, unknown>) => void {
  return (line) => {
    const text = JSON.stringify(line, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    if (json) console.log(text);
    else if (line.level !== 'INFO') console.error(text);
  };
}

const commands: Record<string, Command> = {
  plan: {
    summary: 'what a load takes on AWS: MSK, Lambda and Keyspaces, the limit that binds first, with sources',
    usage:
      'microbatch plan --rate <records/s> --record-bytes <n> [--window <s>] [--partitions <n>] [--keys <n>]',
    options: {
      rate: { type: 'string' },
      'record-bytes': { type: 'string' },
      window: { type: 'string' },
      partitions: { type: 'string' },
      keys: { type: 'string' },
    },
    run: async (values) => runPlanCommand(values, join(REPO_ROOT, 'bench', 'results')),
  },
  up: {
    summary: 'start Kafka and Cassandra (native JVMs, compose, or external), reusing what runs',
    usage: 'microbatch up [--mode native|compose|external]',
    options: { mode: { type: 'string' } },
    async run(values) {
      const result = await services.up({
        mode: values.mode as services.ServicesMode | undefined,
        log: (l) => console.error(l),
      });
      console.log(
        `services ${result.mode}: started [${result.started.join(', ')}], reused [${result.reused.join(', ')}]`,
      );
      console.log(
        `kafka ${result.endpoints.kafkaBrokers.join(',')}  cassandra ${result.endpoints.cassandraContactPoints.join(',')}`,
      );
      return 0;
    },
  },
  down: {
    summary: 'stop the services gracefully',
    usage: 'microbatch down [--mode native|compose|external]',
    options: { mode: { type: 'string' } },
    async run(values) {
      await services.down({
        mode: values.mode as services.ServicesMode | undefined,
        log: (l) => console.error(l),
      });
      return 0;
    },
  },
  status: {
    summary: 'show the services and the last batches of each job',
    usage: 'microbatch status [-c key=value]...',
    options: { ...CONFIG_OPTION },
    async run(values) {
      const config = configFrom(values);
      const st = await services.status();
      console.log(JSON.stringify(st, null, 2));
      const endpoints = services.resolveEndpoints();
      const rt = await openLocalRuntime(endpoints, config.keyspace.name).catch(() => undefined);
      if (!rt) return 0;
      try {
        for (const job of JOB_NAMES) {
          const rows = await recentBatches(rt.client, rt.keyspace, job, 5).catch(() => []);
          console.log(`\n${job}: last ${rows.length} batch(es)`);
          console.log(
            renderTable(
              rows.map((b) => ({
                started: b.startedAt.toISOString(),
                in: b.recordsIn,
                written: b.written,
                dup: b.duplicates,
                dlq: b.deadLettered,
                ms: b.durationMs,
                ranges: b.offsetRanges
                  .map((r) => `${r.topic}-${r.partition}[${r.fromOffset},${r.untilOffset})`)
                  .join(' '),
              })),
            ),
          );
        }
      } finally {
        await rt.close();
      }
      return 0;
    },
  },
  reset: {
    summary: 'stop the services and wipe their data',
    usage: 'microbatch reset',
    options: {},
    async run() {
      await services.reset({ log: (l) => console.error(l) });
      return 0;
    },
  },
  setup: {
    summary: 'create the keyspace, tables and topics from the typed schema (idempotent)',
    usage: 'microbatch setup [-c key=value]...',
    options: { ...CONFIG_OPTION },
    async run(values) {
      const config = configFrom(values);
      const endpoints = services.resolveEndpoints();
      const rt = await openLocalRuntime(endpoints, config.keyspace.name);
      try {
        await setup(config, rt, endpoints);
      } finally {
        await rt.close();
      }
      console.log(
        `keyspace ${config.keyspace.name} and topics ${topicPlan(config)
          .map((t) => t.topic)
          .join(', ')} are ready`,
      );
      return 0;
    },
  },
  run: {
    summary: 'run the event-source runners for the jobs (all by default) until Ctrl-C',
    usage: 'microbatch run [job...] [--json] [-c key=value]...',
    options: { json: { type: 'boolean' }, ...CONFIG_OPTION },
    async run(values, positionals) {
      const config = configFrom(values);
      const jobs = jobsFrom(positionals);
      const graceful = new GracefulStop(earlySignals);
      console.error(`starting ${jobs.join(', ')} (Ctrl-C stops gracefully, even now)`);
      const endpoints = services.resolveEndpoints();
      const rt = await openLocalRuntime(endpoints, config.keyspace.name);
      try {
        if (!graceful.requested) await setup(config, rt, endpoints);
        const runners = await startRunners(
          jobs,
          config,
          rt,
          endpoints,
          Boolean(values.json),
          () => graceful.requested,
        );
        if (!graceful.requested) console.error(`running ${jobs.join(', ')}; Ctrl-C stops gracefully`);
        await graceful.whenStopped(async () => {
          await Promise.all(runners.map((r) => r.stop()));
        });
      } finally {
        await rt.close();
      }
      return 0;
    },
  },
  produce: {
    summary: "produce records: the tutorial's current time each second, a load, or sensor readings",
    usage:
      'microbatch produce [--mode tutorial|load|sensor] [--topic T] [--rate N] [--count N] [--keys N] [--payload-bytes N]',
    options: {
      mode: { type: 'string' },
      topic: { type: 'string' },
      rate: { type: 'string' },
      count: { type: 'string' },
      keys: { type: 'string' },
      'payload-bytes': { type: 'string' },
    },
    async run(values) {
      const mode = (values.mode as string | undefined) ?? 'tutorial';
      if (!['tutorial', 'load', 'sensor'].includes(mode))
        throw new UsageError(`--mode must be tutorial, load or sensor; received '${mode}'.`);
      const num = (name: string): number | undefined => {
        const raw = values[name] as string | undefined;
        if (raw === undefined) return undefined;
        const n = Number(raw);
        if (!Number.isFinite(n) || n < 0)
          throw new UsageError(`--${name} must be a non-negative number, received '${raw}'.`);
        return n;
      };
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      process.once('SIGTERM', () => abort.abort());
      const result = await produce({
        brokers: services.resolveEndpoints().kafkaBrokers,
        mode: mode as ProduceMode,
        topic: values.topic as string | undefined,
        rate: num('rate'),
        count: num('count'),
        keys: num('keys'),
        payloadBytes: num('payload-bytes'),
        signal: abort.signal,
        onProgress: mode === 'tutorial' ? (sent) => console.log(`sent ${sent}`) : progressBar(mode),
      });
      console.error(`sent ${result.sent} records in ${result.seconds.toFixed(1)} s`);
      return 0;
    },
  },
  query: {
    summary: 'print table contents, like Spark’s data.show()',
    usage:
      'microbatch query [sent-received|sensor|batches|dead-letters|skipped] [--limit N] [--sensor ID] [--from ISO] [--to ISO] [--job J] [--partition P]',
    options: {
      limit: { type: 'string' },
      sensor: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      job: { type: 'string' },
      partition: { type: 'string' },
      ...CONFIG_OPTION,
    },
    async run(values, positionals) {
      const config = configFrom(values);
      const view = positionals[0] ?? 'sent-received';
      const limit = Number((values.limit as string | undefined) ?? 20);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit must be a positive integer, received '${String(values.limit)}'.`);
      const rt = await openLocalRuntime(services.resolveEndpoints(), config.keyspace.name);
      try {
        if (view === 'sent-received') {
          const { rows, total } = await recentSentReceived(rt.client, rt.keyspace, limit);
          console.log(
            renderTable(rows.map((r) => ({ time_sent: r.timeSent, time_received: r.timeReceived }))),
          );
          console.log(
            total === undefined
              ? `showing the newest ${rows.length} rows`
              : `showing ${rows.length} of ${total} rows`,
          );
        } else if (view === 'sensor') {
          if (!values.sensor)
            throw new UsageError('query sensor needs --sensor <id>, e.g. --sensor sensor-1');
          const to = values.to ? new Date(values.to as string) : new Date();
          const from = values.from ? new Date(values.from as string) : new Date(to.getTime() - 3_600_000);
          if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()))
            throw new UsageError('--from and --to take ISO-8601 times, e.g. 2026-05-21T02:00:00Z');
          const s = config.jobs['sensor-stats'];
          const rows = await sensorWindows(rt.client, rt.keyspace, {
            sensorId: values.sensor as string,
            windowSpec: windowSpecId({ sizeMs: s.windowSeconds * 1000, slideMs: s.slideSeconds * 1000 }),
            from,
            to,
          });
          console.log(
            renderTable(
              rows.slice(-limit).map((w) => ({
                window_start: w.windowStart.toISOString(),
                count: w.count,
                mean: w.mean.toFixed(3),
                min: w.min,
                max: w.max,
                sum: w.sum,
                partitions: w.partitions,
              })),
            ),
          );
        } else if (view === 'batches') {
          const job = (values.job as string | undefined) ?? 'sent-received';
          const rows = await recentBatches(rt.client, rt.keyspace, job, limit);
          console.log(
            renderTable(
              rows.map((b) => ({
                started: b.startedAt.toISOString(),
                batch: b.batchId.slice(0, 8),
                in: b.recordsIn,
                written: b.written,
                dup: b.duplicates,
                dlq: b.deadLettered,
                late: b.late,
                ms: b.durationMs,
              })),
            ),
          );
        } else if (view === 'dead-letters') {
          const job = (values.job as string | undefined) ?? 'sent-received';
          const topic = job === 'sensor-stats' ? SENSOR_TOPIC.name : TEST_TOPIC.name;
          const partitions =
            values.partition !== undefined
              ? [Number(values.partition)]
              : Array.from({ length: config.topics[topic]!.partitions }, (_, i) => i);
          const rows = (
            await Promise.all(
              partitions.map((p) => deadLetters(rt.client, rt.keyspace, job, topic, p, limit)),
            )
          ).flat();
          console.log(
            renderTable(
              rows.map((d) => ({
                topic: d.topic,
                partition: d.partition,
                offset: d.offset.toString(),
                reason: d.reason,
                detail: d.detail.slice(0, 80),
              })),
            ),
          );
        } else if (view === 'skipped') {
          const job = (values.job as string | undefined) ?? 'sent-received';
          if (!isJobName(job)) throw new UsageError(`Unknown job '${job}'. Jobs: ${JOB_NAMES.join(', ')}.`);
          await printSkipped(rt, config, job);
        } else {
          throw new UsageError(
            `Unknown view '${view}'. Views: sent-received, sensor, batches, dead-letters, skipped.`,
          );
        }
      } finally {
        await rt.close();
      }
      return 0;
    },
  },
  replay: {
    summary: 're-run a job over past data through the same handler; the checkpoints make it idempotent',
    usage: 'microbatch replay <job> --from <ISO timestamp|earliest> [-c key=value]...',
    options: { from: { type: 'string' }, ...CONFIG_OPTION },
    async run(values, positionals) {
      const config = configFrom(values);
      const [name] = jobsFrom(positionals.slice(0, 1));
      if (positionals.length !== 1)
        throw new UsageError(
          'replay takes exactly one job, e.g. microbatch replay sent-received --from earliest',
        );
      const from = values.from as string | undefined;
      if (!from)
        throw new UsageError(
          "replay needs --from: 'earliest' or an ISO-8601 time such as 2026-05-21T02:00:00Z",
        );
      const at = from === 'earliest' ? undefined : Date.parse(from);
      if (at !== undefined && Number.isNaN(at))
        throw new UsageError(`--from must be 'earliest' or an ISO-8601 time, received '${from}'.`);
      const graceful = new GracefulStop(earlySignals);
      const endpoints = services.resolveEndpoints();
      const rt = await openLocalRuntime(endpoints, config.keyspace.name);
      const job = jobFor(name!, config);
      let n = 0;
      // A fresh consumer group reads the past again; the job name (and so the checkpoints) stays the same.
      const groupId = `${config.jobs[name!].consumerGroupId}-replay-${Date.now()}`;
      const runner = new EventSourceRunner({
        jobName: name!,
        topics: job.topics,
        source: {
          ...config.jobs[name!],
          consumerGroupId: groupId,
          startingPosition: at === undefined ? 'TRIM_HORIZON' : 'AT_TIMESTAMP',
          startingPositionTimestamp: at === undefined ? undefined : Math.floor(at / 1000),
          maxBatchingWindowSeconds: 0,
        },
        brokers: endpoints.kafkaBrokers,
        // Never the live job's file: a replay's failed batch says nothing about what the live job skipped.
        onFailureDir: join(ON_FAILURE_DIR, 'replay'),
        stopWhenCaughtUp: true,
        // A replay never moves the live checkpoint: it applies only skipped ranges and defers the rest.
        invoke: rt.invoker(job, {
          log: logFor(false),
          onReport: (report) => printBatch(report, ++n),
          mode: 'replay',
          filters: config.jobs[name!].filters.length > 0,
        }),
      });
      try {
        if (!graceful.requested) {
          await runner.start();
          await Promise.race([runner.stopped, graceful.whenStopped(() => runner.stop())]);
          await runner.stop();
        }
      } finally {
        await rt.close();
        await deleteGroup(endpoints.kafkaBrokers, groupId);
      }
      console.log(
        `replay of ${name} done: ${runner.stats.records} records in ${runner.stats.batches} batches`,
      );
      return 0;
    },
  },
  ui: {
    summary: 'the streaming UI alone on :4040, against local or any reachable Kafka and Cassandra/Keyspaces',
    usage: UI_USAGE,
    options: { ...UI_OPTIONS, ...CONFIG_OPTION },
    async run(values) {
      const config = configFrom(values);
      const graceful = new GracefulStop(earlySignals);
      const ui = await startUiCommand(values, config).catch((error: unknown) => {
        throw error instanceof UiOptionError ? new UsageError(error.message) : error;
      });
      console.error(`streaming UI: ${ui.url} (Ctrl-C stops)`);
      await graceful.whenStopped(() => ui.close());
      return 0;
    },
  },
  redrive: {
    summary:
      're-apply, exactly once, the offsets the event source skipped (on-failure records and skipped ranges)',
    usage: 'microbatch redrive <job> [-c key=value]...',
    options: { ...CONFIG_OPTION },
    async run(values, positionals) {
      const config = configFrom(values);
      if (positionals.length !== 1)
        throw new UsageError('redrive takes exactly one job, e.g. microbatch redrive sensor-stats');
      const [name] = jobsFrom(positionals);
      const endpoints = services.resolveEndpoints();
      const rt = await openLocalRuntime(endpoints, config.keyspace.name);
      try {
        const { registered, summary } = await redriveLocally({
          job: jobFor(name!, config),
          source: config.jobs[name!],
          runtime: rt,
          brokers: endpoints.kafkaBrokers,
          onFailureDir: ON_FAILURE_DIR,
          log: logFor(false),
        });
        const waiting = registered.filter((r) => r.outcome.status === 'waiting');
        console.log(
          `${name}: ${registered.length} on-failure range(s) read, ${summary.attempted} skipped range(s) redriven: ` +
            `${summary.redrivenRecords} record(s) applied, ${summary.lost} offset(s) gone from Kafka`,
        );
        await printSkipped(rt, config, name!);
        for (const w of waiting) {
          console.error(
            `waiting: ${w.failed.topic}-${w.failed.partition} [${w.failed.firstOffset}, ${w.failed.lastOffset}] is ` +
              `ahead of the live checkpoint (${w.outcome.status === 'waiting' ? w.outcome.checkpoint : ''}); ` +
              'run the job, then redrive again',
          );
        }
        if (summary.stillPending.length || waiting.length) return 1;
        return 0;
      } finally {
        await rt.close();
      }
    },
  },
  local: {
    summary:
      'the whole tutorial: services, topics and tables, the producer, the runners and the streaming UI on :4040',
    usage: 'microbatch local [--no-producer] [--port 4040] [-c key=value]...',
    options: { 'no-producer': { type: 'boolean' }, port: { type: 'string' }, ...CONFIG_OPTION },
    async run(values) {
      const config = configFrom(values);
      const graceful = new GracefulStop(earlySignals);
      const up = await services.up({ log: (l) => console.error(l) });
      console.error(
        `services (${up.mode}): started [${up.started.join(', ')}], reused [${up.reused.join(', ')}]`,
      );
      const rt = await openLocalRuntime(up.endpoints, config.keyspace.name);
      if (!graceful.requested) await setup(config, rt, up.endpoints);
      const runners = await startRunners(
        JOB_NAMES,
        config,
        rt,
        up.endpoints,
        false,
        () => graceful.requested,
      );
      const port = Number((values.port as string | undefined) ?? 4040);
      const ui = await startUi({
        client: rt.client,
        keyspace: rt.keyspace,
        kafka: new Kafka({
          clientId: 'microbatch-ui',
          brokers: up.endpoints.kafkaBrokers,
          logLevel: logLevel.NOTHING,
        }),
        jobs: () => uiJobs(config),
        port,
      }).catch((error: unknown) => {
        console.error(`UI not started on :${port}: ${String(error)}`);
        return undefined;
      });
      if (ui) console.error(`streaming UI: ${ui.url}`);
      const abort = new AbortController();
      const producing =
        values['no-producer'] || graceful.requested
          ? Promise.resolve()
          : produce({
              brokers: up.endpoints.kafkaBrokers,
              mode: 'tutorial',
              rate: config.producer.ratePerSecond,
              signal: abort.signal,
            }).then(() => undefined);
      if (!graceful.requested)
        console.error('producing the current time to topic test every second; Ctrl-C stops gracefully');
      await graceful.whenStopped(async () => {
        abort.abort();
        await producing;
        await Promise.all(runners.map((r) => r.stop()));
      });
      await ui?.close();
      await rt.close();
      console.error('stopped; the services keep running (npm run local:down stops them)');
      return 0;
    },
  },
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    'microbatch: Kafka -> micro-batches -> Cassandra, on your machine, with the handlers that run in Lambda.',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `microbatch <command> --help` for its options. Kafka is at localhost:9092 and Cassandra at localhost:9042',
    'unless KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS or MICROBATCH_SERVICES=external say otherwise.',
  ].join('\n');
}

/** Signals that arrived while the CLI was loading (see local/bin.js); a graceful command honours them. */
let earlySignals: NodeJS.Signals[] = [];

export async function main(argv: string[]): Promise<number> {
  earlySignals =
    (
      globalThis as { microbatchEarlySignals?: { take(): NodeJS.Signals[] } }
    ).microbatchEarlySignals?.take() ?? [];
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command '${name}'.\n\n${help()}`);
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { help: { type: 'boolean', short: 'h' }, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      const extra = 'config' in (command.options ?? {}) ? `\n${CONFIG_HELP}` : '';
      console.log(
        `${command.summary}\n\nUsage: ${command.usage}${extra}\n  -h, --help               show this help`,
      );
      return 0;
    }
    return await command.run(values as Record<string, unknown>, positionals);
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    ) {
      console.error(`${(error as Error).message}\n\nUsage: ${command.usage}`);
      return 2;
    }
    if (
      error instanceof services.ServicesError ||
      error instanceof SchemaDriftError ||
      error instanceof OnFailureRecordError
    ) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}
