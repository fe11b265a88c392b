/**
 * `npm run bench`: how fast the pipeline is on this machine, and how close it comes to the limits of its Kafka
 * and Cassandra. A benchmark script, not a timed test: it always exits 0 once it has measured, whatever the
 * numbers; `--smoke` runs it small inside `npm test` so that it never rots.
 *
 * Phases (each on a keyspace, topics and consumer groups of this run only, removed at the end):
 * 1. Cassandra ceiling: after a warm-up until Cassandra's JIT settles, the pipeline's rows written by every
 *    client method the pipeline could use (single prepared INSERTs, unlogged batches) at a few concurrency
 *    levels; each method's best level runs three times and its median run stands; the better method's is the
 *    ceiling.
 * 2. Kafka ceiling: raw kafkajs consumption of the pre-loaded topic with an empty handler. As a diagnostic,
 *    the event-source runner with an empty handler too.
 * 3. Pipeline: the runner and the sent-received job with the exactly-once checkpoints, over the same pre-loaded
 *    topic, until every row and checkpoint is in Cassandra; CPU per record of each process.
 * 4. Latency: a producer at 2,000/s with a 5 s window, then at half the pipeline's throughput; send time to row
 *    written, and the processing delay (the same without the wait for the batch to close).
 * 5. Restart: a runner killed with SIGKILL mid-stream and restarted; time to its next batch.
 * 6. Handlers: each bundle as CDK builds it, its size by dependency and cold import time. It runs first, before
 *    any load leaves Cassandra compacting beside the cold imports.
 * 7. Lambda: the consumer's bundle in processes with the heap Lambda gives each memory size, one core, invoked with
 *    10,000-record events against the real Cassandra; CPU per record and garbage collection.
 * See bench/README.md for the method and the numbers.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { monitorEventLoopDelay, type EventLoopUtilization } from 'node:perf_hooks';
import { join, relative } from 'node:path';
import type { Client } from 'cassandra-driver';
import type { EventSourceConfig } from '../config';
import { createCassandraClient } from '../lambda/runtime/cassandra-client';
import { loadLocalProject, REPO_ROOT } from '../local/app';
import { produce } from '../local/producer';
import { resolveMode, up, type Endpoints } from '../local/services';
import { resolveVersions } from '../local/services/config';
import { cassandraCeiling, cpuPerRecord } from './cassandra-ceiling';
import { renderChart } from './chart';
import {
  cleanupKafka,
  createKeyspace,
  createTopic,
  dropKeyspace,
  retrying,
  runId,
  settleCassandra,
  checkpointedOffset,
  until,
} from './fixtures';
import { handlerEntries, measureHandlers } from './handlers';
import { consumerEnvironment } from '../config/consumer-env';
import { RUNTIME_ENV } from '../config/env';
import { lambdaVariants, measureLambdaSized, ownSemiSpaceMb } from './lambda-sized';
import { kafkaCeiling } from './kafka-ceiling';
import { CpuSampler, jitMeter, machineInfo, nodeVersion, servicePids, type CpuUse } from './machine';
import { CpuProfile } from './profile';
import { BenchOptionError, parseOptions, USAGE, type BenchOptions } from './options';
import { loadRunner, PipelineUnderTest, type BatchSample } from './pipeline';
import type { ProduceChildArgs } from './produce-child';
import { measureRestart } from './restart';
import { DEFAULT_SLOT_DIR } from '../local/static-membership';
import { progress as createProgress, type Progress } from '../local/progress';
import {
  fmt,
  renderSummary,
  targetsOf,
  type BatchStats,
  type BenchReport,
  type LatencyResult,
  type PipelineResult,
} from './report';
import { distribution, percentileTimeline, rateTimeline, STEADY_PART, steadyRate } from './stats';

function batchStats(batches: readonly BatchSample[]): BatchStats {
  const n = batches.length;
  const mean = (f: (b: BatchSample) => number): number =>
    n ? Math.round((batches.reduce((s, b) => s + f(b), 0) / n) * 10) / 10 : 0;
  return {
    count: n,
    meanRecords: Math.round(mean((b) => b.records)),
    meanDurationMs: Math.round(mean((b) => b.durationMs)),
    meanReadClaimMs: mean((b) => b.readClaimMs),
    meanTransformMs: mean((b) => b.transformMs),
    meanEffectsMs: mean((b) => b.effectsMs),
    meanCommitMs: mean((b) => b.commitMs),
    meanOtherMs: mean((b) => b.otherMs),
  };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export async function runBench(options: BenchOptions, progress: Progress): Promise<BenchReport> {
  const startedAt = new Date();
  const id = runId();
  const keyspace = `bench_${id}`;
  const loadTopic = `bench-${id}-load`;
  const groups: string[] = [];
  const group = (name: string): string => {
    const g = `bench-${id}-${name}`;
    groups.push(g);
    return g;
  };
  const machine = {
    ...machineInfo(),
    ...(options.functionNode ? { functionNode: nodeVersion(options.functionNode) } : {}),
  };
  const skip = new Set(options.skip);
  const log = (line: string): void => {
    process.stderr.write(`bench: ${line}\n`);
  };

  progress.phase('services');
  // Idempotent: reuses running services, starts what is missing, never stops anything.
  const services = await retrying('starting the local services', () => up({ log: () => undefined }), {
    onRetry: log,
  });
  const endpoints: Endpoints = services.endpoints;
  const pids = servicePids(REPO_ROOT);
  const sampleCpu = (): CpuSampler => new CpuSampler({ bench: process.pid, ...pids });
  // The Kafka that runs: the pom's default or MICROBATCH_KAFKA_VERSION's.
  const versions = resolveVersions(join(REPO_ROOT, 'local', 'maven', 'pom.xml'));
  const client: Client = await retrying(
    'connecting to Cassandra',
    () =>
      createCassandraClient(
        {
          kind: 'local',
          contactPoints: endpoints.cassandraContactPoints,
          localDataCenter: endpoints.cassandraLocalDataCenter,
        },
        // Raw Cassandra for the ceiling and the fixtures, as Lambda's driver sends it: no strict checks.
        { keyspacesStrict: false },
      ),
    { onRetry: log },
  );
  const cassandraVersion = String(
    (await client.execute('SELECT release_version FROM system.local')).first().get('release_version'),
  );
  progress.done(`${services.mode}: Kafka ${versions.kafka}, Cassandra ${cassandraVersion}`);

  const { config } = await loadLocalProject();
  const base = config.jobs['sent-received']!;
  const source = (groupId: string, overrides: Partial<EventSourceConfig> = {}): EventSourceConfig => ({
    ...base,
    batchSize: options.batchSize ?? base.batchSize,
    maxBatchingWindowSeconds: options.windowSeconds ?? base.maxBatchingWindowSeconds,
    startingPosition: 'TRIM_HORIZON',
    startingPositionTimestamp: undefined,
    consumerGroupId: groupId,
    ...overrides,
  });
  const settings = source('settings');
  const Runner = await loadRunner(options.runnerModule);
  const onFailureDir = join(options.outDir, 'on-failure');
  const topics: string[] = [];
  const sinkOptions = {
    ...(options.writeConcurrency ? { writeConcurrency: options.writeConcurrency } : {}),
    ...(options.batchStatements ? { batchStatements: options.batchStatements } : {}),
    ...(options.pollers ? { pollers: options.pollers } : {}),
  };

  let cassandra: BenchReport['cassandraCeiling'] = null;
  let kafka: BenchReport['kafkaCeiling'] = null;
  let runnerEmpty: BenchReport['runnerEmptyHandler'] = null;
  let pipeline: PipelineResult | null = null;
  const latency: LatencyResult[] = [];
  let restart: BenchReport['restart'] = null;
  let handlers: BenchReport['handlers'] = null;
  let lambdaSized: BenchReport['lambdaSized'] = null;
  const bundleDir = join(os.tmpdir(), `microbatch-bench-${id}`);
  try {
    await retrying('creating the bench keyspace', () => createKeyspace(client, keyspace), { onRetry: log });
    topics.push(loadTopic);
    await retrying(
      'creating the bench topic',
      () => createTopic(endpoints.kafkaBrokers, loadTopic, options.partitions),
      { onRetry: log },
    );

    // 6. The handlers' bundles and cold imports, run first: a cold import is a few dozen milliseconds of one core,
    // which the compactions and flushes the later phases' loads leave running in Cassandra would lengthen. Loading
    // aws-cdk-lib and bundling run in a child process that is gone before the next phase.
    let bundles: ReadonlyMap<string, string> | undefined;
    if (!skip.has('handlers')) {
      await settleCassandra(client);
      progress.phase('handlers', handlerEntries(REPO_ROOT).length * options.importRuns);
      const measured = await measureHandlers({
        root: REPO_ROOT,
        outDir: bundleDir,
        runs: options.importRuns,
        ...(options.functionNode ? { node: options.functionNode } : {}),
        onProgress: (done, name) => progress.update(done, name),
      });
      handlers = measured.result;
      bundles = measured.bundles;
      progress.done(handlers.handlers.map((h) => `${h.handler} ${fmt(h.bytes / 1024)} KB`).join(', '));
    }

    // 1. The Cassandra ceiling, by method.
    if (!skip.has('cassandra')) {
      const methods =
        Number(options.ceilingLevels.length > 0) + Number(options.ceilingBatchLevels.length > 0);
      const plan =
        options.ceilingLevels.length +
        options.ceilingBatchLevels.length +
        (options.ceilingRepeats - 1) * methods;
      progress.phase('Cassandra ceiling', plan * options.ceilingWritesPerLevel);
      cassandra = await cassandraCeiling(client, keyspace, {
        singleLevels: options.ceilingLevels,
        batchLevels: options.ceilingBatchLevels,
        batchRows: options.ceilingBatchRows,
        writesPerLevel: options.ceilingWritesPerLevel,
        repeats: options.ceilingRepeats,
        warmupSeconds: options.warmupSeconds,
        sampleCpu,
        jitCores: jitMeter(pids.cassandra),
        settle: () => settleCassandra(client),
        onProgress: (done, detail) => progress.update(done, detail),
      });
      const best = cassandra.best;
      progress.done(
        `${fmt(best.rate)} rows/s (${best.method}, ${best.concurrency} in flight, median of ${options.ceilingRepeats} runs) after a ${cassandra.warmup.seconds} s warm-up`,
      );
    }

    const needLoad = !skip.has('kafka') || !skip.has('runner') || !skip.has('pipeline');
    if (needLoad) {
      progress.phase('loading the topic', options.count);
      const loaded = await produce({
        brokers: endpoints.kafkaBrokers,
        mode: 'load',
        topic: loadTopic,
        count: options.count,
        // As fast as the producer goes: the throughput phases read a backlog.
        rate: 1e9,
        payloadBytes: options.payloadBytes,
        onProgress: (sent) => progress.update(sent),
      });
      progress.done(
        `${fmt(loaded.sent)} records of ${options.payloadBytes} B in ${loaded.seconds.toFixed(1)} s`,
      );
    }
    const phaseTimeoutMs = Math.max(120_000, options.count * 2);

    // 2. The Kafka ceiling, and the runner alone.
    if (!skip.has('kafka')) {
      progress.phase('Kafka ceiling', options.count);
      kafka = await kafkaCeiling({
        brokers: endpoints.kafkaBrokers,
        topic: loadTopic,
        groupId: group('kafka-ceiling'),
        expected: options.count,
        timeoutMs: phaseTimeoutMs,
        onProgress: (n) => progress.update(n),
        sampleCpu,
      });
      progress.done(`${fmt(kafka.rate)} records/s`);
    }
    if (!skip.has('runner')) {
      progress.phase('runner, empty handler', options.count);
      const put = new PipelineUnderTest({
        endpoints,
        keyspace,
        topic: loadTopic,
        source: source(group('runner-empty')),
        onFailureDir,
        Runner,
        emptyHandler: true,
        ...sinkOptions,
      });
      const profile = options.cpuProfile ? new CpuProfile() : undefined;
      await profile?.start();
      let use;
      try {
        await put.start();
        // From the group join on, as the Kafka ceiling: joining is a fixed cost, not the runner's per record.
        const cpu = sampleCpu();
        await until(
          'the runner to hand every record to the empty handler',
          () => put.records >= options.count,
          phaseTimeoutMs,
          20,
          () => progress.update(put.records),
        );
        use = cpu.stop();
      } finally {
        await put.stop();
        await profile?.stop(join(options.outDir, `runner-${id}.cpuprofile`));
      }
      const seconds = (put.lastBatchAt() - put.startedAt) / 1000;
      runnerEmpty = {
        records: put.records,
        seconds: round3(seconds),
        rate: Math.round(put.records / seconds),
        batches: batchStats(put.batches),
        cpu: use,
        cpuMicrosPerRecord: cpuPerRecord(use, put.records),
      };
      progress.done(`${fmt(runnerEmpty.rate)} records/s`);
    }

    // 3. The pipeline, after a warm-up of its own: the ceiling's warm-up compiles Cassandra's write path, not the
    // checkpoint's SERIAL reads and LWTs (C2 compiler threads took 0.3 cores of a cold pipeline phase), and a
    // pipeline measured cold would be compared with a ceiling measured warm.
    if (!skip.has('pipeline')) {
      const warmupCount = options.smoke ? 500 : Math.min(50_000, options.count);
      progress.phase('pipeline warm-up', warmupCount);
      const warmKeyspace = `${keyspace}_warmup`;
      const warmTopic = `bench-${id}-warmup`;
      topics.push(warmTopic);
      await retrying('creating the warm-up keyspace', () => createKeyspace(client, warmKeyspace), {
        onRetry: log,
      });
      await createTopic(endpoints.kafkaBrokers, warmTopic, options.partitions);
      await produce({
        brokers: endpoints.kafkaBrokers,
        mode: 'load',
        topic: warmTopic,
        count: warmupCount,
        rate: 1e9,
        payloadBytes: options.payloadBytes,
      });
      // Passes over the same records under a new job name each (its own checkpoints, so every pass writes them
      // all), until Cassandra's JIT compiler threads settle as the ceiling's warm-up requires: at least one pass,
      // at most five or two minutes.
      const jit = jitMeter(pids.cassandra);
      const warmStarted = performance.now();
      let passes = 0;
      let jitCores: number | undefined;
      try {
        do {
          passes++;
          const warm = new PipelineUnderTest({
            endpoints,
            keyspace: warmKeyspace,
            topic: warmTopic,
            source: source(group(`pipeline-warmup-${passes}`)),
            onFailureDir,
            Runner,
            jobName: `sent-received-warmup-${passes}`,
            ...sinkOptions,
          });
          jit();
          try {
            await warm.start();
            await until(
              'the warm-up pipeline to write every record',
              () => warm.written >= warmupCount,
              phaseTimeoutMs,
              20,
              () => progress.update(warm.acked, `pass ${passes}`),
            );
          } finally {
            await warm.stop();
            await warm.close();
          }
          jitCores = jit();
        } while (
          !options.smoke &&
          jitCores !== undefined &&
          jitCores >= 0.05 &&
          passes < 5 &&
          performance.now() - warmStarted < 120_000
        );
      } finally {
        // Also when a pass fails: the cleanup at the end drops only the run's own keyspace.
        await dropKeyspace(client, warmKeyspace);
      }
      const settled = await settleCassandra(client);
      progress.done(
        `${passes} pass${passes === 1 ? '' : 'es'} of ${fmt(warmupCount)} records (JIT ${jitCores?.toFixed(2) ?? 'n/a'} cores in the last); ` +
          `Cassandra's flushes and compactions settled in ${settled} s`,
      );

      progress.phase('pipeline', options.count);
      const put = new PipelineUnderTest({
        endpoints,
        keyspace,
        topic: loadTopic,
        source: source(group('pipeline')),
        onFailureDir,
        Runner,
        ...sinkOptions,
      });
      const profile = options.cpuProfile ? new CpuProfile() : undefined;
      await profile?.start();
      const cpu = sampleCpu();
      // The consumer is one event loop: while it parses or transforms a batch, no other poller's write is sent or
      // acknowledged. Its utilisation and delay, and every process's CPU, are also taken over the steady part of
      // the run (10% to 90% of the rows acknowledged, as the steady rate): the whole phase's averages are diluted
      // by the join and by the last batches' window, when the machine is nearly idle.
      const loopDelay = monitorEventLoopDelay({ resolution: 10 });
      let steadyStart: { cpu: CpuSampler; acked: number; loop: EventLoopUtilization } | undefined;
      let steadyEnd: { cpu: CpuUse; records: number; eventLoop: PipelineResult['eventLoop'] } | undefined;
      // `ended`: the run is over; a short run can pass 10% and 90% between two looks.
      const watchSteady = (ended = false): void => {
        if (!steadyStart && put.acked >= STEADY_PART.from * options.count) {
          steadyStart = { cpu: sampleCpu(), acked: put.acked, loop: performance.eventLoopUtilization() };
          loopDelay.enable();
        } else if (steadyStart && !steadyEnd && (ended || put.acked >= STEADY_PART.to * options.count)) {
          loopDelay.disable();
          steadyEnd = {
            cpu: steadyStart.cpu.stop(),
            records: put.acked - steadyStart.acked,
            eventLoop: {
              utilization: round3(performance.eventLoopUtilization(steadyStart.loop).utilization),
              delayP99Ms: round3(loopDelay.percentile(99) / 1e6),
              delayMaxMs: round3(loopDelay.max / 1e6),
            },
          };
        }
      };
      let use;
      try {
        await put.start();
        await until(
          'the pipeline to write every record',
          () => put.written >= options.count,
          phaseTimeoutMs,
          20,
          () => {
            progress.update(put.acked);
            watchSteady();
          },
        );
        watchSteady(true);
        use = cpu.stop();
      } finally {
        await put.stop();
        await profile?.stop(join(options.outDir, `pipeline-${id}.cpuprofile`));
      }
      try {
        const seconds = (put.lastBatchAt() - put.startedAt) / 1000;
        const verified = await put.verify(options.partitions);
        const rate = Math.round(put.written / seconds);
        const steady = steadyRate(put.acks);
        pipeline = {
          records: put.written,
          seconds: round3(seconds),
          rate,
          steady,
          ratioToCassandra: cassandra ? round3((steady?.rate ?? rate) / cassandra.best.rate) : null,
          ratioToKafka: kafka ? round3(rate / kafka.rate) : null,
          pollers: options.pollers ?? 'default',
          batches: batchStats(put.batches),
          verified: { rows: verified.rows, checkpointed: Number(verified.checkpointed) },
          timeline: rateTimeline(put.acks, put.startedAt, 1000),
          cpu: use,
          cpuMicrosPerRecord: cpuPerRecord(use, put.written),
          steadyCpu: steadyEnd
            ? { cpu: steadyEnd.cpu, cpuMicrosPerRecord: cpuPerRecord(steadyEnd.cpu, steadyEnd.records) }
            : null,
          eventLoop: steadyEnd?.eventLoop ?? null,
          statements: Object.fromEntries(
            Object.entries(put.statements).map(([kind, st]) => [
              kind,
              {
                count: st.count,
                rows: st.rows,
                meanMs: Math.round((st.totalMs / Math.max(1, st.count)) * 100) / 100,
              },
            ]),
          ),
          inFlight: {
            max: put.inFlight.max,
            mean: Math.round((put.inFlight.weightedMs / Math.max(1, put.inFlight.busyMs)) * 10) / 10,
          },
          warnings: put.warnings,
        };
      } finally {
        await put.close();
      }
      progress.done(
        `${fmt(pipeline.rate)} records/s, ${pipeline.batches.count} batches; verified ${fmt(pipeline.verified.rows)} rows`,
      );
    }

    // 4. Latency and processing delay: the target's fixed rate and window, then half the pipeline's throughput.
    if (!skip.has('latency')) {
      const phases: Array<{ name: LatencyResult['name']; rate: number; windowSeconds: number }> = [
        { name: 'fixed', ...options.fixedLatency },
        {
          name: 'half',
          // parseOptions requires --latency-rate when the pipeline phase is skipped.
          rate: options.latencyRate ?? Math.max(1, Math.round(pipeline!.rate / 2)),
          windowSeconds: settings.maxBatchingWindowSeconds,
        },
      ];
      for (const phase of phases) {
        const rate = Math.min(phase.rate, options.latencyMaxRate);
        const topic = `bench-${id}-latency-${phase.name}`;
        topics.push(topic);
        await createTopic(endpoints.kafkaBrokers, topic, options.partitions);
        const result = await measureLatency({
          name: phase.name,
          rate,
          topic,
          source: source(group(`latency-${phase.name}`), { maxBatchingWindowSeconds: phase.windowSeconds }),
        });
        latency.push(result);
      }
    }

    // 5. Restart after a SIGKILL.
    if (!skip.has('restart')) {
      progress.phase('restart');
      const topic = `bench-${id}-restart`;
      topics.push(topic);
      await createTopic(endpoints.kafkaBrokers, topic, options.partitions);
      // A batch small enough that the outage's backlog fills it: what is timed is the restart, not the window.
      const rate = options.smoke ? 500 : 2000;
      const restartSource = source(group('restart'), { batchSize: rate / 4, maxBatchingWindowSeconds: 1 });
      let producer: number | undefined;
      restart = await measureRestart({
        root: REPO_ROOT,
        rate,
        args: {
          endpoints,
          keyspace,
          topic,
          source: restartSource,
          onFailureDir,
          staticMembership: options.restartStatic,
          ...(options.restartSessionMs ? { sessionTimeoutMs: options.restartSessionMs } : {}),
        },
        produce: () =>
          produceInChild(
            {
              brokers: [...endpoints.kafkaBrokers],
              topic,
              rate,
              count: rate * 40,
              payloadBytes: options.payloadBytes,
            },
            (pid) => (producer = pid),
            () => undefined,
            120_000,
          ),
        // 40 s of records bound the phase (a dynamic member waits out a session); a static restart needs a few.
        stopProducing: () => {
          try {
            if (producer !== undefined) process.kill(producer, 'SIGTERM');
          } catch {
            // It had sent its count already.
          }
        },
        timeoutMs: 60_000,
      });
      progress.done(`next batch ${fmt(restart.firstBatchMs)} ms after the SIGKILL`);
    }

    // 7. The consumer's bundle (from the handlers phase) in Lambda-sized processes: last, on a settled Cassandra.
    if (bundles && !skip.has('lambda')) {
      const job = 'sent-received';
      const variants = lambdaVariants(options.lambda.memorySizes, ownSemiSpaceMb());
      progress.phase('Lambda-sized handler', variants.length * options.lambda.rounds);
      await settleCassandra(client);
      lambdaSized = await measureLambdaSized({
        root: REPO_ROOT,
        bundle: bundles.get(job)!,
        handlerName: job,
        environment: { ...consumerEnvironment(config, job), [RUNTIME_ENV.keyspace]: keyspace },
        contactPoints: endpoints.cassandraContactPoints,
        localDataCenter: endpoints.cassandraLocalDataCenter,
        variants,
        ...(options.functionNode ? { node: options.functionNode } : {}),
        partitions: options.partitions,
        ...options.lambda,
        payloadBytes: options.payloadBytes,
        readCheckpoint: (topic, partition) => checkpointedOffset(client, keyspace, { job, topic, partition }),
        onProgress: (done, label) => progress.update(done, label),
      });
      progress.done(
        lambdaSized.variants.map((v) => `${v.label} ${v.cpuMicrosPerRecord.toFixed(1)} µs/record`).join(', '),
      );
    }
  } finally {
    progress.phase('cleanup');
    const problems = await cleanupKafka(endpoints.kafkaBrokers, topics, groups);
    await dropKeyspace(client, keyspace).catch((e: unknown) =>
      problems.push(`keyspace ${keyspace}: ${String(e)}`),
    );
    await client.shutdown();
    // The restart phase's killed runner leaves its static-membership slot behind: its group is gone now.
    for (const g of groups)
      rmSync(join(DEFAULT_SLOT_DIR, encodeURIComponent(g)), { recursive: true, force: true });
    // The bundles are measured, not kept: each run left a few MB in the temporary directory.
    rmSync(bundleDir, { recursive: true, force: true });
    progress.done(
      problems.length
        ? `left behind: ${problems.join('; ')}`
        : `dropped ${keyspace}, deleted ${topics.length} topics`,
    );
  }

  const report: Omit<BenchReport, 'targets' | 'files'> = {
    version: 2,
    mode: options.smoke ? 'smoke' : 'full',
    id,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: {
      ...machine,
      kafka: versions.kafka,
      cassandra: cassandraVersion,
      servicesMode: resolveMode(),
      loadAverage1mAtEnd: Math.round(os.loadavg()[0]! * 100) / 100,
    },
    settings: {
      count: options.count,
      payloadBytes: options.payloadBytes,
      partitions: options.partitions,
      batchSize: settings.batchSize,
      windowSeconds: settings.maxBatchingWindowSeconds,
      writeConcurrency: options.writeConcurrency ?? 'default',
      batchStatements: options.batchStatements ?? 'default',
      pollers: options.pollers ?? 'default',
      runner: options.runnerModule ?? 'local/runner.ts',
    },
    cassandraCeiling: cassandra,
    kafkaCeiling: kafka,
    runnerEmptyHandler: runnerEmpty,
    pipeline,
    latency,
    restart,
    handlers,
    lambdaSized,
  };
  mkdirSync(options.outDir, { recursive: true });
  const stamp = `${report.startedAt.replace(/[:.]/g, '-')}${options.smoke ? '-smoke' : ''}`;
  const files = {
    json: join(options.outDir, `bench-${stamp}.json`),
    chart: join(options.outDir, `bench-${stamp}.svg`),
  };
  const full: BenchReport = { ...report, targets: targetsOf(report), files };
  writeFileSync(files.json, `${JSON.stringify(full, null, 2)}\n`);
  writeFileSync(files.chart, renderChart(full));
  return full;

  /** One latency phase: the pipeline on a fresh topic while a producer in its own process sends at `rate`. */
  async function measureLatency(phase: {
    name: LatencyResult['name'];
    rate: number;
    topic: string;
    source: EventSourceConfig;
  }): Promise<LatencyResult> {
    const { rate } = phase;
    // The producer runs on past the measured interval by one window and two seconds, so that the last measured
    // records meet a steady stream: without it the final partial batch waits out its whole window, an effect of
    // the stream ending, not of the rate.
    const cooldownSeconds = phase.source.maxBatchingWindowSeconds + 2;
    const count = rate * (options.latencyWarmupSeconds + options.latencySeconds + cooldownSeconds);
    progress.phase(`latency at ${fmt(rate)}/s`, count);
    const put = new PipelineUnderTest({
      endpoints,
      keyspace,
      topic: phase.topic,
      source: phase.source,
      onFailureDir,
      Runner,
      trackDelays: true,
      ...sinkOptions,
    });
    const cpu = sampleCpu();
    let use;
    let sent = 0;
    try {
      await put.start();
      sent = await produceInChild(
        {
          brokers: [...endpoints.kafkaBrokers],
          topic: phase.topic,
          rate,
          count,
          payloadBytes: options.payloadBytes,
        },
        (pid) => cpu.add('producer', pid),
        (n) =>
          progress.update(Math.min(n, put.ackAt.length), `sent ${fmt(n)}, written ${fmt(put.ackAt.length)}`),
        (options.latencyWarmupSeconds + options.latencySeconds + cooldownSeconds) * 1000 * 3 + 60_000,
      );
      await until(
        'the pipeline to write every record of the latency phase',
        () => put.written >= sent,
        phaseTimeoutMs(),
        20,
        () => progress.update(put.ackAt.length, `written ${fmt(put.ackAt.length)}`),
      );
      use = cpu.stop();
    } finally {
      await put.stop();
      await put.close();
    }
    let first = Infinity;
    for (const s of put.sentAt) first = Math.min(first, s);
    const from = first + options.latencyWarmupSeconds * 1000;
    const to = from + options.latencySeconds * 1000;
    const measured = (t: number): boolean => t >= from && t < to;
    const rows: Array<{ t: number; v: number }> = [];
    put.ackAt.forEach((ack, i) => {
      const s = put.sentAt[i]!;
      if (measured(s)) rows.push({ t: s, v: ack - s });
    });
    const delays = put.processingDelay.filter((d) => measured(d.t));
    const fetchDelays = put.fetchDelay.filter((d) => measured(d.t)).map((d) => d.v);
    const committed = put.commitLatency.filter((c) => measured(c.t)).map((c) => c.v);
    const delayTimeline = percentileTimeline(delays, first, 1000);
    const result: LatencyResult = {
      name: phase.name,
      rate,
      seconds: options.latencySeconds,
      sent,
      windowSeconds: phase.source.maxBatchingWindowSeconds,
      batchSize: phase.source.batchSize,
      warmupSeconds: options.latencyWarmupSeconds,
      cooldownSeconds,
      rowWrittenMs: roundDistribution(distribution(rows.map((r) => r.v))),
      processingDelayMs: roundDistribution(distribution(delays.map((d) => d.v))),
      fetchDelayMs: roundDistribution(distribution(fetchDelays)),
      batchCommittedMs: roundDistribution(distribution(committed)),
      batches: batchStats(put.batches),
      timeline: percentileTimeline(rows, first, 1000).map((s) => ({
        t: s.t,
        p50: Math.round(s.p50),
        p99: Math.round(s.p99),
        max: Math.round(s.max),
        delayP99: Math.round(delayTimeline.find((d) => d.t === s.t)?.p99 ?? Number.NaN),
      })),
      cpu: use,
      warnings: put.warnings,
    };
    progress.done(
      `latency p99 ${fmt(result.rowWrittenMs.p99)} ms, processing delay p99 ${fmt(result.processingDelayMs.p99)} ms at ${fmt(rate)}/s`,
    );
    return result;
  }

  function phaseTimeoutMs(): number {
    return Math.max(120_000, options.count * 2);
  }
}

function roundDistribution<T extends object>(d: T): T {
  return Object.fromEntries(
    Object.entries(d).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 10) / 10 : v]),
  ) as T;
}

/** Runs bench/produce-child.ts in its own process; resolves with the records it sent. */
function produceInChild(
  args: ProduceChildArgs,
  onPid: (pid: number) => void,
  onSent: (sent: number) => void,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'bench', 'produce-child.ts'), JSON.stringify(args)],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    if (child.pid) onPid(child.pid);
    let sent = 0;
    let done = false;
    let stderr = '';
    let buffer = '';
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const msg = JSON.parse(line) as { sent?: number; done?: boolean };
          if (typeof msg.sent === 'number') sent = msg.sent;
          if (msg.done) done = true;
          onSent(sent);
        } catch {
          // Not a progress line: ignore.
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && done) resolve(sent);
      else reject(new Error(`The latency producer exited with ${code}: ${stderr.trim()}`));
    });
  });
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2), REPO_ROOT);
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const progress = createProgress({ enabled: parsed.progress, label: 'bench' });
  const report = await runBench(parsed, progress);
  console.log(
    renderSummary({
      ...report,
      files: {
        json: relative(process.cwd(), report.files.json),
        chart: relative(process.cwd(), report.files.chart),
      },
    }),
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    // A bad command line: its message says what to fix, and nothing has started.
    if (error instanceof BenchOptionError) {
      console.error(`bench: ${error.message}`);
      process.exit(2);
    }
    console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
}
