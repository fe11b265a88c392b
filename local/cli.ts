/**
 * `microbatch`: the local mode's one entry point (`npx microbatch --help`, `microbatch <command> --help`).
 * Every option and argument is checked when the command line is parsed, before anything starts: a bad value
 * exits 2 with what was expected, a typo gets the closest command or option.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import { Argument, Command, CommanderError, Option } from '@commander-js/extra-typings';
import { errors } from '../lambda/runtime/cassandra-driver';
import { Kafka, logLevel } from '../lambda/runtime/kafkajs';
import { CONSUMER_MEMORY_MB, ConfigError, type PipelineConfig } from '../config';
import { jobViews, type JobView } from '../config/jobs';
import { recordLatencies, type BatchReport } from '../lambda/runtime/batch';
import {
  deadLetters,
  recentBatches,
  recentRows,
  windowKeys,
  windowResults,
  newestDeadLetters,
  type DeadLetterRow,
  type LedgerRow,
} from '../lambda/runtime/queries';
import { createLogger, logTo } from '../lambda/runtime/log';
import { errorText } from '../lambda/runtime/errors';
import { OnFailureRecordError } from '../lambda/runtime/redrive';
import { findJob, JobRegistryError, loadJobs, type RegisteredJob } from '../lambda/runtime/registry';
import { windowSpecId } from '../lambda/runtime/windows';
import {
  REPO_ROOT,
  assertJobsBuild,
  jobFor,
  localConfig,
  openLocalRuntime,
  type LocalProject,
  type LocalRuntime,
} from './app';
import { NewJobError, newJob } from './new-job';
import { earliestOrTime, integer, isoTime, keyValue, positiveNumber, topicName } from './options';
import { runPlanCommand } from './plan';
import { assertTopicExists, MissingTopicError, produce, produceValue } from './producer';
import { progress } from './progress';
import { redriveLocally } from './redrive';
import { EventSourceRunner } from './runner';
import { onStopSignals } from './stop-signals';
import * as services from './services';
import { assertSetUp, ensureSchema, ensureTopics, NotSetUpError, SchemaDriftError, topicPlan } from './setup';
import { renderTable, truncateCell } from './table';
import { startUi } from './ui';
import { ListenError } from './ui/server';
import { UiConnectError, UiOptionError, startUiCommand } from './ui/command';
import { uiJobs } from './ui/jobs';

/** The width `query ... dead-letters` cuts a dead letter's detail to, unless `--no-truncate`. */
const DETAIL_WIDTH = 80;

/** Where `query`'s --key, --from and --to apply. */
const WINDOW_RESULTS = "a window job's results";

/** The rows `query <job> dead-letters` prints; `truncate` cuts each detail to DETAIL_WIDTH, marked. */
export function deadLetterRows(
  letters: ReadonlyArray<
    Pick<DeadLetterRow, 'topic' | 'partition' | 'offset' | 'reason' | 'detail' | 'recordTimestamp'>
  >,
  truncate: boolean,
): Array<Record<string, unknown>> {
  return letters.map((d) => ({
    record_time: d.recordTimestamp?.toISOString() ?? null,
    topic: d.topic,
    partition: d.partition,
    offset: d.offset.toString(),
    reason: d.reason,
    detail: truncateCell(d.detail, truncate ? DETAIL_WIDTH : undefined),
  }));
}

export const ON_FAILURE_DIR = join(REPO_ROOT, '.local', 'on-failure');

/** A redrive the job's code or the store stopped: what stays pending, and what to do. Exit 1. */
export class RedriveStoppedError extends Error {
  override readonly name = 'RedriveStoppedError';
}

/** A bad command line that the parser could not see (e.g. a partition the topic does not have). Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
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
  // The counts a batch has only sometimes, when it has them, as the JSON progress line does: without `deferred` a
  // replay's line did not account for the records it left to the live job.
  const sometimes = (
    [
      ['deferred', report.deferred],
      ['skipped', report.skipped],
      ['filtered', report.filtered],
      ['lost', report.lost],
    ] as const
  )
    .filter(([, count]) => count)
    .map(([name, count]) => `, ${name} ${count}`)
    .join('');
  out.push(
    `records in ${report.recordsIn}, written ${report.written}, duplicates ${report.duplicates}, dead-lettered ${report.deadLettered}, ` +
      `late ${report.late}${sometimes}, ${report.durationMs} ms` +
      (report.watermarkMs === null ? '' : `, watermark ${new Date(report.watermarkMs).toISOString()}`),
  );
  // After a crash (or beside a concurrent attempt) a batch applies offsets under the claim it finds, with that
  // attempt's processing time: say so, or the rows' times look like another batch's.
  for (const p of report.partitions) {
    if (!p.resumedClaim) continue;
    out.push(
      `partition ${p.partition}: resumed claim ${p.resumedClaim.id.slice(0, 8)} of an earlier or concurrent ` +
        `attempt, up to offset ${p.resumedClaim.until}, with its processing time ${p.resumedClaim.time.toISOString()}`,
    );
  }
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
async function printSkipped(rt: LocalRuntime, config: PipelineConfig, job: RegisteredJob): Promise<void> {
  const rows = [];
  for (const { name: topic } of job.topics) {
    for (let partition = 0; partition < (config.topics[topic]?.partitions ?? 1); partition++) {
      for (const r of await rt.checkpoints.listSkipped({ job: job.name, topic, partition })) {
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
  console.log(rows.length ? renderTable(rows) : `${job.name}: no skipped ranges`);
}

async function setup(project: LocalProject, rt: LocalRuntime, endpoints: services.Endpoints): Promise<void> {
  await ensureSchema(rt.client, project.config, project.jobs);
  const { larger } = await ensureTopics(endpoints.kafkaBrokers, topicPlan(project.config));
  // Kafka never removes partitions: say so, rather than let a later --partition check refuse one that exists.
  for (const t of larger)
    console.error(
      `note: topic ${t.topic} has ${t.has} partitions, more than the ${t.partitions} of the config; Kafka cannot ` +
        `remove partitions, so the jobs read all ${t.has}: set -c topics.${t.topic}.partitions=${t.has} to match.`,
    );
}

/**
 * Starts one runner per job, each calling the same handler code as Lambda. Stops starting more once `stopping()`
 * is true (a Ctrl-C during start-up); the ones already started are returned, to be stopped gracefully.
 */
async function startRunners(
  jobs: readonly RegisteredJob[],
  config: PipelineConfig,
  rt: LocalRuntime,
  endpoints: services.Endpoints,
  json: boolean,
  stopping: () => boolean,
): Promise<EventSourceRunner[]> {
  const runners: EventSourceRunner[] = [];
  let n = 0;
  for (const definition of jobs) {
    if (stopping()) break;
    const job = jobFor(definition, config);
    const source = config.jobs[definition.name]!;
    const logger = jobLogger(definition.name, json);
    const runner = new EventSourceRunner({
      jobName: definition.name,
      topics: job.topics,
      source,
      brokers: endpoints.kafkaBrokers,
      onFailureDir: ON_FAILURE_DIR,
      functionTimeoutMs: source.timeoutSeconds * 1000,
      logger,
      invoke: rt.invoker(job, {
        logger,
        filters: source.filters.length > 0,
        onReport: json ? undefined : (report) => printBatch(report, ++n),
      }),
    });
    await runner.start();
    runners.push(runner);
  }
  return runners;
}

/** What `microbatch status` found: printed as tables, or whole with `--json`. */
export interface StatusReport {
  readonly services: readonly services.ServiceStatus[];
  /** Why no job's batches were read: the keyspace or a table is missing (`microbatch setup` makes them). */
  notSetUp?: string;
  /** Why no job's batches were read: a table's layout differs from its definition (`setup` cannot fix it). */
  schemaDrift?: string;
  readonly jobs: Array<
    | { readonly job: string; readonly batches: readonly LedgerRow[] }
    | { readonly job: string; readonly error: string }
  >;
}

/** The services as `microbatch status` prints them: one row each. */
export function renderServices(rows: readonly services.ServiceStatus[]): string {
  return renderTable(
    rows.map((s) => ({
      service: s.service,
      mode: s.mode,
      state: s.healthy ? 'healthy' : s.running ? 'running, not answering' : 'stopped',
      pid: s.pid ?? '',
      endpoint: s.endpoint,
      detail: s.detail,
    })),
  );
}

/** One job's part of `microbatch status`: its last batches, or why they could not be read. */
export function renderJobStatus(job: StatusReport['jobs'][number]): string {
  if ('error' in job) return `${job.job}: its batches could not be read: ${job.error}`;
  const rows = job.batches.map((b) => ({
    started: b.startedAt.toISOString(),
    in: b.recordsIn,
    written: b.written,
    dup: b.duplicates,
    dlq: b.deadLettered,
    ms: b.durationMs,
    ranges: b.offsetRanges
      .map((r) => `${r.topic}-${r.partition}[${r.fromOffset},${r.untilOffset})`)
      .join(' '),
  }));
  return `${job.job}: last ${job.batches.length} batch(es)\n${renderTable(rows)}`;
}

/**
 * After a graceful stop: a batch that was still failing when the stop came is not finished, so the command must
 * not say it is. Its records come back on the next start, which applies them once.
 */
export function reportUncommitted(
  runners: ReadonlyArray<Pick<EventSourceRunner, 'jobName' | 'stats'>>,
  state: { exitCode: number },
): void {
  const left = runners.filter((r) => r.stats.uncommittedAtStop > 0);
  if (!left.length) return;
  const batches = left.reduce((n, r) => n + r.stats.uncommittedAtStop, 0);
  console.error(
    `${batches} failing batch${batches === 1 ? ' was' : 'es were'} left uncommitted at the stop ` +
      `(${left.map((r) => r.jobName).join(', ')}): their records come back on the next start, which applies ` +
      'them once; the log above says why they failed.',
  );
  state.exitCode = 1;
}

/**
 * A runner that stops by itself on an error (`EventSourceRunner.failure`) stops the whole command: `local` and
 * `run` would otherwise go on without that job, showing nothing but one error line.
 */
export function stopWhenARunnerFails(
  runners: ReadonlyArray<Pick<EventSourceRunner, 'jobName' | 'stopped' | 'failure'>>,
  graceful: Pick<GracefulStop, 'stopBecause'>,
): void {
  for (const runner of runners) {
    void runner.stopped.then(() => {
      if (runner.failure)
        graceful.stopBecause(`${runner.jobName} stopped on an error (${runner.failure.message})`);
    });
  }
}

/** Says which runners stopped on an error, and makes the exit code 1 if any did. */
export function reportFailures(
  runners: ReadonlyArray<Pick<EventSourceRunner, 'jobName' | 'failure'>>,
  state: { exitCode: number },
): void {
  const failed = runners.filter((r) => r.failure);
  for (const runner of failed) {
    console.error(
      `${runner.jobName} stopped on an error: ${errorText(runner.failure)}; the log above has the details.`,
    );
  }
  if (failed.length) state.exitCode = 1;
}

/**
 * What `local` says of the jobs it runs without demo data (no `sample` in their definition, as README's "made
 * yours" job): without it, such a job would wait for records with nothing saying why none come.
 */
export function noDemoDataNote(
  jobs: ReadonlyArray<{
    readonly name: string;
    readonly sample?: unknown;
    readonly topics: ReadonlyArray<{ readonly name: string }>;
  }>,
): string | undefined {
  const without = jobs.filter((j) => !j.sample);
  if (!without.length) return undefined;
  return (
    `no demo data for ${without.map((j) => `${j.name} (topic ${j.topics.map((t) => t.name).join(', ')})`).join(', ')}: ` +
    `no sample in ${without.length === 1 ? 'its definition' : 'their definitions'}; produce to ${without.length === 1 ? 'its topic' : 'their topics'} yourself`
  );
}

/**
 * Graceful stop, installed before anything starts, so that a stop at any moment (even during start-up) exits
 * having committed nothing it did not finish (0, or 1 when a failing batch was left: `reportUncommitted`).
 * First Ctrl-C or SIGTERM: stop what is running (the batch in flight finishes and is committed) and skip what
 * was not started yet. Second: exit now; nothing is lost, since what was not committed comes back on the next
 * start and the checkpoints skip what was already applied.
 */
export class GracefulStop {
  private stopRequested = false;
  private stopping: (() => Promise<void>) | undefined;
  private finish!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.finish = resolve));

  /**
   * @param inFlight what the stop waits for, as the messages name it: a command that runs no batch (`ui`) must not
   *   say it is finishing one.
   */
  constructor(
    early: readonly NodeJS.Signals[] = [],
    private readonly inFlight: { readonly finishing: string; readonly forced: string } = {
      finishing: 'finishing the batch in flight, committing',
      forced: 'the batch in flight',
    },
  ) {
    onStopSignals(
      (signal) => {
        console.error(
          `\n${signal}: stopping gracefully (${inFlight.finishing}). Press Ctrl-C again to force.`,
        );
        this.request();
      },
      { early, forced: inFlight.forced },
    );
  }

  private request(): void {
    this.stopRequested = true;
    if (this.stopping) void this.stopping().finally(() => this.finish());
  }

  /** A stop the command itself asks for (a runner that stopped on an error): as a first Ctrl-C, saying `reason`. */
  stopBecause(reason: string): void {
    if (this.stopRequested) return;
    console.error(`${reason}: stopping gracefully (${this.inFlight.finishing}).`);
    this.request();
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

/**
 * `local`'s graceful stop: the demo producers and the runners stop together. A runner told to stop only once
 * the producers had finished went on closing batches meanwhile (a producer at one record a second notices the
 * abort only after its current tick, up to a second later), so batches started after the Ctrl-C that said
 * fetching had stopped.
 */
export async function stopLocal(
  abort: AbortController,
  producing: Promise<void>,
  runners: ReadonlyArray<{ stop(): Promise<void> }>,
): Promise<void> {
  abort.abort();
  await Promise.all([producing, ...runners.map((r) => r.stop())]);
}

/**
 * The logger of a job's batches: with --json every line (INFO and up, one JSON object each); otherwise only
 * warnings and errors, since the Spark-like block of each batch says the rest.
 */
function jobLogger(name: string, json: boolean): Logger {
  return createLogger({ serviceName: `microbatch-${name}`, logLevel: json ? 'INFO' : 'WARN' });
}

/** Signals that arrived while the CLI was loading (see local/bin.js); a graceful command honours them. */
let earlySignals: NodeJS.Signals[] = [];

const VIEWS = ['results', 'batches', 'dead-letters', 'skipped'] as const;

function version(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** What the commands share: the registry's jobs (or why they could not be loaded), and the exit code to return. */
interface CliState {
  readonly jobs: readonly RegisteredJob[] | JobRegistryError;
  exitCode: number;
}

function registryJobs(state: CliState): readonly RegisteredJob[] {
  if (state.jobs instanceof JobRegistryError) throw state.jobs;
  return state.jobs;
}

/** A job argument: checked against the registry when the command line is parsed, with the closest name on a typo. */
function jobArgument(state: CliState, name: string, description: string) {
  return new Argument(name, description).argParser((raw: string) => findJob(registryJobs(state), raw));
}

/** A variadic job argument: each name checked as it is parsed. */
function jobsArgument(state: CliState, name: string, description: string) {
  return new Argument(name, description).argParser((raw: string, previous: RegisteredJob[] | undefined) => [
    ...(previous ?? []),
    findJob(registryJobs(state), raw),
  ]);
}

/** The jobs `run` names, or every job: commander passes an empty list, not nothing, for no variadic argument. */
export function jobsToRun<J>(picked: readonly J[] | undefined, all: readonly J[]): readonly J[] {
  return picked?.length ? picked : all;
}

function configOption() {
  return new Option(
    '-c, --config <key=value>',
    'override a config key, as with cdk -c (repeatable)',
  ).argParser(keyValue);
}

function projectOf(state: CliState, overrides: Record<string, string> = {}): LocalProject {
  const jobs = registryJobs(state);
  const config = localConfig(jobs, overrides);
  assertJobsBuild(jobs, config);
  return { jobs, config };
}

export function createProgram(state: CliState): Command {
  const program = new Command('microbatch')
    .description(
      'Kafka -> micro-batches -> Cassandra, on your machine, with the handlers that run in Lambda.\n' +
        'Kafka is at localhost:9092 and Cassandra at localhost:9042 unless KAFKA_BROKERS, ' +
        'CASSANDRA_CONTACT_POINTS or MICROBATCH_SERVICES=external say otherwise.',
    )
    .version(version(), '-V, --version')
    .showSuggestionAfterError()
    .showHelpAfterError('(run with --help for the usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .configureOutput({
      // `cdk -c key=value synth` takes -c before the command; ours belongs to each command.
      outputError: (text, write) =>
        write(
          /unknown option '(-c|--config)'/.test(text)
            ? text.replace(/\n?$/, '\n(-c goes after the command: microbatch <command> -c key=value)\n')
            : text,
        ),
    })
    .exitOverride();

  const modeOption = () =>
    new Option(
      '--mode <mode>',
      'where the services run (default: native without a Docker engine, else compose)',
    ).choices(services.SERVICES_MODES);

  program
    .command('local')
    .description(
      'the whole tutorial: services, topics and tables, every job with its demo producer, and the UI on :4040',
    )
    .option('--no-producer', "send no demo data (the jobs' sample producers)")
    .addOption(new Option('--port <port>', 'the UI port').argParser(integer(0, 65_535)).default(4040))
    .addOption(configOption())
    .action(async (opts) => {
      const project = projectOf(state, opts.config);
      const { config, jobs } = project;
      const graceful = new GracefulStop(earlySignals);
      const up = await services.up({ log: (l) => console.error(l) });
      console.error(
        `services (${up.mode}): started [${up.started.join(', ')}], reused [${up.reused.join(', ')}]`,
      );
      const rt = await openLocalRuntime(up.endpoints, config.keyspace.name);
      if (!graceful.requested) await setup(project, rt, up.endpoints);
      const runners = await startRunners(jobs, config, rt, up.endpoints, false, () => graceful.requested);
      const ui = await startUi({
        client: rt.client,
        keyspace: rt.keyspace,
        kafka: new Kafka({
          clientId: 'microbatch-ui',
          brokers: up.endpoints.kafkaBrokers,
          logLevel: logLevel.NOTHING,
        }),
        jobs: () => uiJobs(jobs, config),
        port: opts.port,
      }).catch((error: unknown) => {
        console.error(`UI not started on :${opts.port}: ${String(error)}`);
        return undefined;
      });
      if (ui) console.error(`streaming UI: ${ui.url}`);
      const abort = new AbortController();
      const producers = jobs.filter((j) => j.sample);
      const producing =
        !opts.producer || graceful.requested
          ? Promise.resolve()
          : Promise.all(
              producers.map((j) =>
                produce({
                  brokers: up.endpoints.kafkaBrokers,
                  mode: 'sample',
                  sample: j.sample,
                  topic: j.topics[0]!.name,
                  // The tutorial's producer follows the config (producer.ratePerSecond), as in the cloud.
                  rate: j.name === 'sent-received' ? config.producer.ratePerSecond : undefined,
                  signal: abort.signal,
                }),
              ),
            ).then(() => undefined);
      if (!graceful.requested && opts.producer) {
        console.error(
          `producing demo data to ${producers.map((j) => `${j.topics[0]!.name} (${j.name})`).join(', ')}; Ctrl-C stops gracefully`,
        );
        const note = noDemoDataNote(jobs);
        if (note) console.error(note);
      }
      stopWhenARunnerFails(runners, graceful);
      await graceful.whenStopped(() => stopLocal(abort, producing, runners));
      await ui?.close();
      await rt.close();
      console.error('stopped; the services keep running (npm run local:down stops them)');
      reportUncommitted(runners, state);
      reportFailures(runners, state);
    });

  program
    .command('up')
    .description('start Kafka and Cassandra (native JVMs, compose, or external), reusing what runs')
    .addOption(modeOption())
    .action(async (opts) => {
      const result = await services.up({ mode: opts.mode, log: (l) => console.error(l) });
      console.log(
        `services ${result.mode}: started [${result.started.join(', ')}], reused [${result.reused.join(', ')}]`,
      );
      console.log(
        `kafka ${result.endpoints.kafkaBrokers.join(',')}  cassandra ${result.endpoints.cassandraContactPoints.join(',')}`,
      );
    });

  program
    .command('down')
    .description('stop the services gracefully')
    .addOption(modeOption())
    .action(async (opts) => {
      await services.down({ mode: opts.mode, log: (l) => console.error(l) });
    });

  program
    .command('reset')
    .description(
      'stop the services and wipe their data (refused, wiping nothing, while services this checkout did not start answer)',
    )
    .action(async () => {
      await services.reset({ log: (l) => console.error(l) });
    });

  program
    .command('status')
    .description('show the services and the last batches of each job')
    .addOption(configOption())
    .option('--json', "print one JSON object instead of tables: the services, and each job's last batches")
    .action(async (opts) => {
      const { config, jobs } = projectOf(state, opts.config);
      const report: StatusReport = { services: await services.status(), jobs: [] };
      // Tables go out as they are known (a Cassandra that does not answer takes seconds to give up on); the JSON
      // object once, whole.
      const say = (text: string): void => {
        if (!opts.json) console.log(text);
      };
      const print = (): void => {
        if (opts.json) console.log(JSON.stringify(report, null, 2));
      };
      say(renderServices(report.services));
      const rt = await openLocalRuntime(services.resolveEndpoints(), config.keyspace.name).catch(
        () => undefined,
      );
      if (!rt) return print();
      try {
        // Before any job's rows: tables that do not exist are a step to take, and a table of another layout a
        // decision to make, not a failure of each job. Both go in the report, so that --json stays one object.
        const unusable = await assertSetUp(rt.client, rt.keyspace, null, jobs).then(
          () => undefined,
          (error: unknown) => {
            if (error instanceof NotSetUpError || error instanceof SchemaDriftError) return error;
            throw error;
          },
        );
        if (unusable instanceof NotSetUpError) report.notSetUp = unusable.message;
        if (unusable instanceof SchemaDriftError) {
          report.schemaDrift = unusable.message;
          state.exitCode = 1;
        }
        if (unusable) {
          say(`\n${unusable.message}`);
          return print();
        }
        for (const job of jobs) {
          // A ledger that cannot be read is not "0 batches": say why, and exit 1.
          const rows = await recentBatches(rt.client, rt.keyspace, job.name, 5).catch((error: unknown) => {
            const failed = { job: job.name, error: unreachableService(error) ?? errorText(error) };
            report.jobs.push(failed);
            say(`\n${renderJobStatus(failed)}`);
            state.exitCode = 1;
            return undefined;
          });
          if (!rows) continue;
          const read = { job: job.name, batches: rows };
          report.jobs.push(read);
          say(`\n${renderJobStatus(read)}`);
        }
        print();
      } finally {
        await rt.close();
      }
    });

  program
    .command('setup')
    .description("create the keyspace, the jobs' tables and topics from the typed schema (idempotent)")
    .addOption(configOption())
    .action(async (opts) => {
      const project = projectOf(state, opts.config);
      const endpoints = services.resolveEndpoints();
      const rt = await openLocalRuntime(endpoints, project.config.keyspace.name);
      try {
        await setup(project, rt, endpoints);
      } finally {
        await rt.close();
      }
      console.log(
        `keyspace ${project.config.keyspace.name} and topics ${topicPlan(project.config)
          .map((t) => t.topic)
          .join(', ')} are ready`,
      );
    });

  program
    .command('run')
    .description('run the event-source runners of the jobs (all by default) until Ctrl-C')
    .addArgument(jobsArgument(state, '[jobs...]', 'the jobs to run (default: every job)'))
    .option('--json', 'print each batch report as a JSON line instead of the Spark-like block')
    .addOption(configOption())
    .action(async (picked, opts) => {
      const project = projectOf(state, opts.config);
      const jobs = jobsToRun(picked, project.jobs);
      const graceful = new GracefulStop(earlySignals);
      console.error(`starting ${jobs.map((j) => j.name).join(', ')} (Ctrl-C stops gracefully, even now)`);
      const endpoints = services.resolveEndpoints();
      const rt = await openLocalRuntime(endpoints, project.config.keyspace.name);
      try {
        if (!graceful.requested) await setup(project, rt, endpoints);
        const runners = await startRunners(
          jobs,
          project.config,
          rt,
          endpoints,
          Boolean(opts.json),
          () => graceful.requested,
        );
        if (!graceful.requested)
          console.error(`running ${jobs.map((j) => j.name).join(', ')}; Ctrl-C stops gracefully`);
        stopWhenARunnerFails(runners, graceful);
        await graceful.whenStopped(async () => {
          await Promise.all(runners.map((r) => r.stop()));
        });
        // The last line says the stop is over: a graceful stop can take a batch's time after "stopping".
        console.error(
          runners.length
            ? `stopped ${runners.map((r) => r.jobName).join(', ')}`
            : 'stopped before any job started',
        );
        reportUncommitted(runners, state);
        reportFailures(runners, state);
      } finally {
        await rt.close();
      }
    });

  program
    .command('produce')
    .description("send a job's demo data (the tutorial's current time each second by default), or a load")
    .addArgument(jobArgument(state, '[job]', 'the job whose demo data to send (default: sent-received)'))
    .option('--load', 'a load for sent-received: --count records of strictly increasing ISO send times')
    .addOption(
      new Option('--topic <topic>', "the topic to send to (default: the job's first topic)").argParser(
        topicName,
      ),
    )
    .addOption(
      new Option(
        '--rate <n>',
        "records a second (default: the job's sample rate; 1000 with --load)",
      ).argParser(positiveNumber),
    )
    .addOption(
      new Option('--count <n>', 'records in all (default: until Ctrl-C; 10000 with --load)').argParser(
        integer(1),
      ),
    )
    .addOption(
      new Option('--keys <n>', 'with --load: distinct record keys, 0 for null keys')
        .argParser(integer(0))
        .default(0),
    )
    .addOption(
      new Option('--payload-bytes <n>', 'with --load: pad each value to this many bytes').argParser(
        integer(0, 1_000_000),
      ),
    )
    .option(
      '--value <text>',
      "send this value as it is, --count times (default 1): a record of one's own, e.g. a malformed one",
    )
    .option('--key <key>', 'with --value: the record key (default: null)')
    .addOption(configOption())
    .action(async (picked, opts) => {
      const jobs = registryJobs(state);
      const job = picked ?? findJob(jobs, 'sent-received');
      const topic = opts.topic ?? job.topics[0]!.name;
      if (opts.value !== undefined) {
        const shaping = [
          opts.load && '--load',
          opts.rate !== undefined && '--rate',
          opts.keys !== 0 && '--keys',
          opts.payloadBytes !== undefined && '--payload-bytes',
        ].filter((flag): flag is string => typeof flag === 'string');
        if (shaping.length)
          throw new UsageError(
            `--value sends its value as it is, with --count, --key and --topic; it takes no ${shaping.join(', ')}.`,
          );
        const brokers = services.resolveEndpoints().kafkaBrokers;
        await assertTopicExists(brokers, topic);
        const result = await produceValue({
          brokers,
          topic,
          value: opts.value,
          ...(opts.key !== undefined && { key: opts.key }),
          ...(opts.count !== undefined && { count: opts.count }),
        });
        console.log(`sent ${result.sent} record(s) of ${JSON.stringify(opts.value)} to ${topic}`);
        return;
      }
      if (opts.key !== undefined) throw new UsageError('--key goes with --value; a --load takes --keys.');
      if (opts.load && job.name !== 'sent-received')
        throw new UsageError(
          `--load sends tutorial send times, for sent-received only; received job '${job.name}'.`,
        );
      // --load is no way out here: it sends sent-received's send times, which any other job dead-letters.
      if (!opts.load && !job.sample)
        throw new UsageError(
          `Job '${job.name}' has no demo data (no sample in its definition): send records of your own with ` +
            `\`microbatch produce ${job.name} --value '<record>'\` (--count repeats it, --key sets its key), or ` +
            'give its definition a `sample`, as `microbatch new job` writes one.',
        );
      if (!opts.load && (opts.payloadBytes !== undefined || opts.keys !== 0))
        throw new UsageError(
          '--keys and --payload-bytes shape a --load; a job sample makes its own keys and values.',
        );
      const brokers = services.resolveEndpoints().kafkaBrokers;
      await assertTopicExists(brokers, topic);
      const abort = new AbortController();
      onStopSignals(() => abort.abort(), { early: earlySignals, forced: 'the send in flight' });
      const bar = progress({ label: 'produce' });
      bar.phase(`producing to ${topic}`, opts.count ?? (opts.load ? 10_000 : undefined));
      const started = Date.now();
      const result = await produce({
        brokers,
        ...(opts.load ? { mode: 'load' as const } : { mode: 'sample' as const, sample: job.sample }),
        topic,
        rate: opts.rate,
        count: opts.count,
        keys: opts.keys,
        payloadBytes: opts.payloadBytes,
        signal: abort.signal,
        onProgress: (sent) =>
          bar.update(sent, `${(sent / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(0)}/s`),
      });
      // The progress line adds the phase's time itself.
      bar.done(
        `sent ${result.sent} records at ${(result.sent / Math.max(0.001, result.seconds)).toFixed(0)}/s`,
      );
    });

  program
    .command('query')
    .description("print a job's results, batches, dead letters or skipped ranges, like Spark's data.show()")
    .addArgument(jobArgument(state, '[job]', 'the job (default: sent-received)'))
    .addArgument(new Argument('[view]', 'what to show').choices(VIEWS).default('results' as const))
    .addOption(new Option('--limit <n>', 'rows to show').argParser(integer(1, 1000)).default(20))
    .option('--key <key>', "a window job's key (its key column's value); without it, the keys there are")
    .addOption(
      new Option('--from <time>', 'window results from (ISO-8601) (default: an hour before --to)').argParser(
        isoTime,
      ),
    )
    .addOption(new Option('--to <time>', 'window results until (ISO-8601) (default: now)').argParser(isoTime))
    .addOption(
      new Option('--partition <p>', 'dead letters of one partition (default: every partition)').argParser(
        integer(0),
      ),
    )
    .option(
      '--no-truncate',
      `dead letters' detail in full (default: cut at ${DETAIL_WIDTH} characters, marked with …)`,
    )
    .addOption(configOption())
    .action(async (picked, view, opts) => {
      const project = projectOf(state, opts.config);
      const job = picked ?? findJob(project.jobs, 'sent-received');
      const jobView = jobViews([job], (name) => project.config.jobs[name]!.options)[0]!;
      // An option the view does not use would be ignored without a word: refuse it, saying where it applies.
      const windowResults = view === 'results' && jobView.kind === 'window';
      const misplaced = (
        [
          ['--key', opts.key !== undefined, windowResults, WINDOW_RESULTS],
          ['--from', opts.from !== undefined, windowResults, WINDOW_RESULTS],
          ['--to', opts.to !== undefined, windowResults, WINDOW_RESULTS],
          ['--partition', opts.partition !== undefined, view === 'dead-letters', 'the dead-letters view'],
          ['--no-truncate', !opts.truncate, view === 'dead-letters', 'the dead-letters view'],
        ] as const
      ).find(([, given, applies]) => given && !applies);
      if (misplaced) {
        const [option, , , where] = misplaced;
        throw new UsageError(
          `${option} applies to ${where} only; received it with ${job.name} ${view}` +
            // Only a window job's results take --key, --from and --to: say why a transform job's do not.
            (where === WINDOW_RESULTS && jobView.kind === 'transform' && view === 'results'
              ? ` (${job.name} is a transform job).`
              : '.'),
        );
      }
      const topic = job.topics[0]!.name;
      const partitions = project.config.topics[topic]!.partitions;
      if (opts.partition !== undefined && opts.partition >= partitions)
        throw new UsageError(
          `--partition must be below ${partitions}, the partitions of topic ${topic}; received ${opts.partition}.`,
        );
      const to = opts.to ?? new Date();
      const from = opts.from ?? new Date(to.getTime() - 3_600_000);
      if (from >= to)
        throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()}).`);
      const rt = await openLocalRuntime(services.resolveEndpoints(), project.config.keyspace.name);
      try {
        await assertSetUp(rt.client, rt.keyspace, null, [job]);
        if (view === 'results')
          await printResults(rt, jobView, { limit: opts.limit, key: opts.key, from, to });
        else if (view === 'batches') {
          const rows = await recentBatches(rt.client, rt.keyspace, job.name, opts.limit);
          console.log(
            renderTable(
              rows.map((b) => ({
                started: b.startedAt.toISOString(),
                batch: b.batchId.slice(0, 8),
                // A replay's or a redrive's batch re-reads old offsets: tell it from the live stream's.
                mode: b.mode ?? 'live',
                in: b.recordsIn,
                written: b.written,
                dup: b.duplicates,
                dlq: b.deadLettered,
                late: b.late,
                ms: b.durationMs,
                // From the Kafka timestamps of the batch's newest and oldest record to its end, in ms.
                ...latencyColumns(b),
              })),
            ),
          );
        } else if (view === 'dead-letters') {
          const rows = [];
          for (const { name: t } of job.topics) {
            const count = project.config.topics[t]!.partitions;
            const ps =
              opts.partition !== undefined ? [opts.partition] : Array.from({ length: count }, (_, i) => i);
            for (const p of ps)
              rows.push(...(await deadLetters(rt.client, rt.keyspace, job.name, t, p, opts.limit)));
          }
          console.log(renderTable(deadLetterRows(newestDeadLetters(rows, opts.limit), opts.truncate)));
        } else await printSkipped(rt, project.config, job);
      } finally {
        await rt.close();
      }
    });

  program
    .command('replay')
    .description('re-run a job over past data through the same handler; the checkpoints make it idempotent')
    .addArgument(jobArgument(state, '<job>', 'the job to replay'))
    .addOption(
      new Option('--from <when>', "'earliest' or an ISO-8601 time")
        .argParser(earliestOrTime)
        .makeOptionMandatory(),
    )
    .addOption(configOption())
    .action(async (definition, opts) => {
      const { config } = projectOf(state, opts.config);
      const at = opts.from === 'earliest' ? undefined : opts.from.getTime();
      const graceful = new GracefulStop(earlySignals);
      const endpoints = services.resolveEndpoints();
      const rt = await openLocalRuntime(endpoints, config.keyspace.name);
      await assertSetUp(rt.client, rt.keyspace, endpoints.kafkaBrokers, [definition]).catch(
        async (error: unknown) => {
          await rt.close();
          throw error;
        },
      );
      const job = jobFor(definition, config);
      const source = config.jobs[definition.name]!;
      let n = 0;
      // A fresh consumer group reads the past again; the job name (and so the checkpoints) stays the same.
      const groupId = `${source.consumerGroupId}-replay-${Date.now()}`;
      const runner = new EventSourceRunner({
        jobName: definition.name,
        topics: job.topics,
        source: {
          ...source,
          consumerGroupId: groupId,
          startingPosition: at === undefined ? 'TRIM_HORIZON' : 'AT_TIMESTAMP',
          startingPositionTimestamp: at === undefined ? undefined : Math.floor(at / 1000),
          maxBatchingWindowSeconds: 0,
        },
        brokers: endpoints.kafkaBrokers,
        // Never the live job's file: a replay's failed batch says nothing about what the live job skipped.
        onFailureDir: join(ON_FAILURE_DIR, 'replay'),
        functionTimeoutMs: source.timeoutSeconds * 1000,
        stopWhenCaughtUp: true,
        // A replay never moves the live checkpoint: it applies only skipped ranges and defers the rest.
        logger: jobLogger(definition.name, false),
        invoke: rt.invoker(job, {
          logger: jobLogger(definition.name, false),
          onReport: (report) => printBatch(report, ++n),
          mode: 'replay',
          filters: source.filters.length > 0,
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
      // A replay that stopped on an error did not catch up: it is not done.
      if (runner.failure) return reportFailures([runner], state);
      console.log(
        `replay of ${definition.name} done: ${runner.stats.records} records in ${runner.stats.batches} batches`,
      );
    });

  program
    .command('redrive')
    .description(
      're-apply, exactly once, the offsets the event source skipped (on-failure records and skipped ranges)',
    )
    .addArgument(jobArgument(state, '<job>', 'the job'))
    .addOption(configOption())
    .action(async (definition, opts) => {
      const { config } = projectOf(state, opts.config);
      const endpoints = services.resolveEndpoints();
      const rt = await openLocalRuntime(endpoints, config.keyspace.name);
      try {
        await assertSetUp(rt.client, rt.keyspace, endpoints.kafkaBrokers, [definition]);
        const { registered, summary } = await redriveLocally({
          job: jobFor(definition, config),
          source: config.jobs[definition.name]!,
          runtime: rt,
          brokers: endpoints.kafkaBrokers,
          onFailureDir: ON_FAILURE_DIR,
          log: logTo(jobLogger(definition.name, false)),
          logger: jobLogger(definition.name, false),
        }).catch((error: unknown) => {
          if (userError(error)) throw error;
          // The job still fails on these records (or the store does): say what stays, and what to do.
          throw new RedriveStoppedError(
            `redrive of ${definition.name} stopped: ${errorText(error)}\n` +
              `The skipped ranges it did not finish stay pending (\`microbatch query ${definition.name} skipped\` ` +
              `lists them): fix the cause, in ${definition.entry} or the services, then run ` +
              `\`microbatch redrive ${definition.name}\` again.`,
            { cause: error },
          );
        });
        const waiting = registered.filter((r) => r.outcome.status === 'waiting');
        console.log(
          `${definition.name}: ${registered.length} on-failure range(s) read, ${summary.attempted} skipped range(s) redriven: ` +
            `${summary.redrivenRecords} record(s) through the job (applied, or dead-lettered with their reason), ` +
            `${summary.lost} offset(s) gone from Kafka`,
        );
        await printSkipped(rt, config, definition);
        for (const w of waiting) {
          console.error(
            `waiting: ${w.failed.topic}-${w.failed.partition} [${w.failed.firstOffset}, ${w.failed.lastOffset}] is ` +
              `ahead of the live checkpoint (${w.outcome.status === 'waiting' ? w.outcome.checkpoint : ''}); ` +
              'run the job, then redrive again',
          );
        }
        if (summary.stillPending.length || waiting.length) state.exitCode = 1;
      } finally {
        await rt.close();
      }
    });

  program
    .command('ui')
    .description(
      'the streaming UI alone on :4040, against local or any reachable Kafka and Cassandra/Keyspaces',
    )
    .addOption(
      new Option('--target <target>', 'the database')
        .choices(['local', 'keyspaces'] as const)
        .default('local' as const),
    )
    .option('--region <region>', 'with --target keyspaces: the AWS region (default: AWS_REGION)')
    .option(
      '--brokers <host:port,...>',
      'Kafka bootstrap brokers (default: the local ones; none for keyspaces: no lag)',
    )
    .addOption(
      new Option(
        '--kafka-auth <auth>',
        'Kafka authentication (default: iam with keyspaces, else none)',
      ).choices(['none', 'iam'] as const),
    )
    .addOption(new Option('--port <port>', 'the port').argParser(integer(0, 65_535)).default(4040))
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .addOption(configOption())
    .action(async (opts) => {
      const project = projectOf(state, opts.config);
      const graceful = new GracefulStop(earlySignals, {
        finishing: 'closing the server, finishing the lag sample or rollup it is writing',
        forced: 'the lag sample or rollup it is writing',
      });
      const ui = await startUiCommand(
        {
          target: opts.target,
          region: opts.region,
          brokers: opts.brokers,
          'kafka-auth': opts.kafkaAuth,
          port: String(opts.port),
          host: opts.host,
        },
        project,
      ).catch((error: unknown) => {
        throw error instanceof UiOptionError ? new UsageError(error.message) : error;
      });
      console.error(`streaming UI: ${ui.url} (Ctrl-C stops)`);
      await graceful.whenStopped(() => ui.close());
    });

  program
    .command('plan')
    .description(
      'what a load takes on AWS: MSK, Lambda and Keyspaces, the limit that binds first, with sources',
    )
    .addOption(
      new Option('--rate <records/s>', 'records a second').argParser(positiveNumber).makeOptionMandatory(),
    )
    .addOption(
      new Option('--record-bytes <n>', 'bytes a record')
        .argParser(integer(1, 1_000_000))
        .makeOptionMandatory(),
    )
    .addOption(new Option('--window <s>', 'the batching window in seconds').argParser(integer(0, 300)))
    .addOption(new Option('--partitions <n>', 'partitions of the topic').argParser(integer(1, 10_000)))
    .addOption(new Option('--keys <n>', 'distinct window keys').argParser(integer(1)))
    .addOption(
      new Option(
        '--memory <MB>',
        `the consumers' Lambda memory (default ${CONSUMER_MEMORY_MB}, what the stack deploys)`,
      ).argParser(integer(128, 10_240)),
    )
    .action((opts) => {
      state.exitCode = runPlanCommand(
        {
          rate: String(opts.rate),
          'record-bytes': String(opts.recordBytes),
          ...(opts.window !== undefined ? { window: String(opts.window) } : {}),
          ...(opts.partitions !== undefined ? { partitions: String(opts.partitions) } : {}),
          ...(opts.keys !== undefined ? { keys: String(opts.keys) } : {}),
          ...(opts.memory !== undefined ? { memory: String(opts.memory) } : {}),
        },
        join(REPO_ROOT, 'bench', 'results'),
      );
    });

  program
    .command('new')
    .description('create from a template')
    .command('job')
    .description(
      'write lambda/jobs/<name>.ts and its test: a job that synthesizes, runs and passes with no other edit',
    )
    .argument('<name>', 'the job name: lower-case letters, digits and dashes, e.g. clicks')
    .option(
      '--window',
      'a window job (count, sum, min, max per key and event-time window) instead of a transform',
    )
    .action(async (name, opts) => {
      const { files } = await newJob({
        name,
        window: Boolean(opts.window),
        root: REPO_ROOT,
        existing: registryJobs(state),
      });
      console.log(`wrote ${files.join(' and ')}`);
      console.log(
        `next: npx vitest run ${files[1]}, then npx microbatch local (it runs ${name} with its demo data) and npx cdk synth`,
      );
    });

  return program;
}

/** A window job's windows of one key, or without a key, the keys it has. A transform job's newest rows. */
async function printResults(
  rt: LocalRuntime,
  view: JobView,
  args: { limit: number; key: string | undefined; from: Date; to: Date },
): Promise<void> {
  if (view.kind === 'transform') {
    const { rows, total } = await recentRows(rt.client, rt.keyspace, view, args.limit);
    console.log(renderTable(rows.map((r) => ({ ...r }))));
    console.log(
      total === undefined
        ? `showing the newest ${rows.length} rows`
        : `showing ${rows.length} of ${total} rows`,
    );
    return;
  }
  const windowSpec = windowSpecId(view.window);
  if (args.key === undefined) {
    const keys = await windowKeys(rt.client, rt.keyspace, view, windowSpec, args.limit);
    console.log(renderTable(keys.map((k) => ({ [view.keyColumn]: k }))));
    console.log(`${keys.length} key(s) of ${view.name}; show one with --key <${view.keyColumn}>`);
    return;
  }
  const rows = await windowResults(rt.client, rt.keyspace, {
    view,
    key: args.key,
    windowSpec,
    from: args.from,
    to: args.to,
  });
  if (!rows.length) {
    // "(no rows)" left the user to guess whether the key, the range or its defaults missed: name all three.
    console.log(
      `${view.name}: no windows of ${view.keyColumn} '${args.key}' starting from ${args.from.toISOString()} to ` +
        `${args.to.toISOString()}. Widen the range with --from and --to (default: the hour before now), or leave ` +
        'out --key to list the keys there are.',
    );
    return;
  }
  console.log(
    renderTable(
      rows.slice(-args.limit).map((w) => ({
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
}

/**
 * A service the command needed did not answer (the driver's or kafkajs's error, or one that wraps it): what to
 * start, or which variable points elsewhere, instead of a stack trace.
 */
export function unreachableService(
  error: unknown,
  endpointsOf: () => services.Endpoints = () => services.resolveEndpoints(),
): string | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (!(e instanceof errors.NoHostAvailableError) && e.name !== 'KafkaJSConnectionError') continue;
    // Only now: with a malformed KAFKA_BROKERS this throws, and that error is the one to report.
    const endpoints = endpointsOf();
    if (e instanceof errors.NoHostAvailableError) {
      // A host that answered with an error was reached: Cassandra is up and refused the request (too few
      // replicas alive for the consistency level, overloaded, ...). Starting the services would not fix that, so
      // give the server's answer instead (its message only: the driver's own text carries a stack trace).
      const answers = Object.entries((e.innerErrors ?? {}) as Record<string, unknown>).filter(
        (entry): entry is [string, InstanceType<typeof errors.ResponseError>] =>
          entry[1] instanceof errors.ResponseError,
      );
      if (answers.length) {
        return (
          `Cassandra at ${endpoints.cassandraContactPoints.join(', ')} is up but refused the request: ` +
          `${answers.map(([host, answer]) => `${host}: ${answer.message}`).join('; ')}. Fix what it names (a ` +
          "keyspace's replication factor above the nodes that are up, say), then run the command again."
        );
      }
      return (
        `Cannot reach Cassandra at ${endpoints.cassandraContactPoints.join(', ')}: start the services with ` +
        '`microbatch up` (or `npm run local:up`), or point CASSANDRA_CONTACT_POINTS at yours.'
      );
    }
    if (e.name === 'KafkaJSConnectionError') {
      return (
        `Cannot reach Kafka at ${endpoints.kafkaBrokers.join(', ')} (${e.message}): start the services with ` +
        '`microbatch up` (or `npm run local:up`), or point KAFKA_BROKERS at yours.'
      );
    }
  }
  return undefined;
}

/** Errors that are the user's to fix: the message says how; exit 2 for a bad command line, 1 otherwise. */
function userError(error: unknown): { code: number; message: string } | undefined {
  const unreachable = unreachableService(error);
  if (unreachable) return { code: 1, message: unreachable };
  if (
    error instanceof UsageError ||
    error instanceof ConfigError ||
    error instanceof JobRegistryError ||
    error instanceof NewJobError
  )
    return { code: 2, message: error.message };
  if (
    error instanceof services.ServicesError ||
    error instanceof SchemaDriftError ||
    error instanceof NotSetUpError ||
    error instanceof RedriveStoppedError ||
    error instanceof OnFailureRecordError ||
    error instanceof UiConnectError ||
    error instanceof ListenError ||
    error instanceof MissingTopicError
  )
    return { code: 1, message: error.message };
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  earlySignals =
    (
      globalThis as { microbatchEarlySignals?: { take(): NodeJS.Signals[] } }
    ).microbatchEarlySignals?.take() ?? [];
  const state: CliState = {
    jobs: await loadJobs().catch((error: unknown) => {
      if (error instanceof JobRegistryError) return error;
      throw error;
    }),
    exitCode: 0,
  };
  const program = createProgram(state);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return 1;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version exit 0; commander has printed the error and the usage hint already.
      return error.exitCode === 0 ? 0 : 2;
    }
    const known = userError(error);
    if (!known) throw error;
    console.error(known.message);
    return known.code;
  }
}

/** A ledger row's record latencies as two table columns; null (as Spark shows it) on rows from before they were kept. */
function latencyColumns(b: LedgerRow): { latency_newest: number | null; latency_oldest: number | null } {
  const l = recordLatencies(b);
  return { latency_newest: l?.newestMs ?? null, latency_oldest: l?.oldestMs ?? null };
}
