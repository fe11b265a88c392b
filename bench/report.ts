/** The benchmark's report: its JSON shape, the targets of issue 12, and the table printed on the terminal. */
import { CONSUMER_MEMORY_MB } from '../config';
import { renderTable } from '../local/table';
import { cpuPerRecord, type CassandraCeiling } from './cassandra-ceiling';
import type { HandlersResult } from './handlers';
import type { KafkaCeiling } from './kafka-ceiling';
import type { LambdaSizedResult } from './lambda-sized';
import type { CpuUse, MachineInfo } from './machine';
import type { RestartResult } from './restart';
import type { Distribution } from './stats';

export interface Throughput {
  readonly records: number;
  readonly seconds: number;
  readonly rate: number;
}

export interface BatchStats {
  readonly count: number;
  readonly meanRecords: number;
  readonly meanDurationMs: number;
  /** Mean ms per batch of the handler's phases (see `BatchSample`). */
  readonly meanReadClaimMs: number;
  readonly meanTransformMs: number;
  readonly meanEffectsMs: number;
  readonly meanCommitMs: number;
  readonly meanOtherMs: number;
}

export interface PipelineResult extends Throughput {
  /**
   * The rate between the moment 10% and 90% of the rows were acknowledged (`steadyRate` in bench/stats.ts): what
   * the pipeline sustains, without the group join before the first batch and the last batch's window wait.
   * `rate` above is the whole run's, from the join to the last batch.
   */
  readonly steady: { readonly rate: number; readonly rows: number; readonly seconds: number } | null;
  /** The steady rate over the Cassandra ceiling (the whole run's when there is no steady rate). */
  readonly ratioToCassandra: number | null;
  readonly ratioToKafka: number | null;
  readonly pollers: number | 'default';
  readonly batches: BatchStats;
  /** What Cassandra holds afterwards: rows in sent_received, and the checkpoints' next offsets summed. */
  readonly verified: { readonly rows: number; readonly checkpointed: number };
  readonly timeline: ReadonlyArray<{ readonly t: number; readonly rate: number }>;
  readonly cpu: CpuUse;
  /** CPU time per record written, µs, per process (from `cpu`). */
  readonly cpuMicrosPerRecord: Readonly<Record<string, number>>;
  /** Cores per process, and CPU µs per row, over the steady part of the run (the rows of `steady`). */
  readonly steadyCpu: {
    readonly cpu: CpuUse;
    readonly cpuMicrosPerRecord: Readonly<Record<string, number>>;
  } | null;
  /** The consumer's event loop over the steady part: busy share (0–1), and its delay (p99, max) in ms. */
  readonly eventLoop: {
    readonly utilization: number;
    readonly delayP99Ms: number;
    readonly delayMaxMs: number;
  } | null;
  /** Per statement kind: how many, the rows they carried, and their mean latency in ms. */
  readonly statements: Readonly<
    Record<string, { readonly count: number; readonly rows: number; readonly meanMs: number }>
  >;
  /** Requests to Cassandra in flight: the most at once, and the mean while any was. */
  readonly inFlight: { readonly max: number; readonly mean: number };
  readonly warnings: readonly string[];
}

export interface LatencyResult {
  /** `fixed`: the target's rate and window; `half`: half the pipeline's throughput, the configured window. */
  readonly name: 'fixed' | 'half';
  readonly rate: number;
  readonly seconds: number;
  readonly sent: number;
  readonly windowSeconds: number;
  readonly batchSize: number;
  /** Records sent in the first `warmupSeconds` are not measured... */
  readonly warmupSeconds: number;
  /** ...nor those of the `cooldownSeconds` the producer runs on after `seconds`. */
  readonly cooldownSeconds: number;
  /** Send time to the INSERT of the record's row acknowledged by Cassandra. */
  readonly rowWrittenMs: Distribution;
  /**
   * The same minus the time the record waited for its batch to close (from its arrival from Kafka to the
   * handler's invocation): delivery from Kafka plus processing, without the batching window.
   */
  readonly processingDelayMs: Distribution;
  /**
   * The processing delay's part before the runner: from the send to the record's arrival from Kafka (the
   * producer's send, the broker, the fetch, and the runner's event loop getting to it).
   * @default - not measured (reports written before it was)
   */
  readonly fetchDelayMs?: Distribution;
  /** Send time to the record's batch done: rows written and checkpoint moved. */
  readonly batchCommittedMs: Distribution;
  readonly batches: BatchStats;
  readonly timeline: ReadonlyArray<{
    readonly t: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
    readonly delayP99: number;
  }>;
  readonly cpu: CpuUse;
  readonly warnings: readonly string[];
}

export interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly holds: boolean | null;
  /** When it does not hold: the measured factor that bounds it (issue 12's "Report")... */
  readonly bound?: string;
  /** ...and the next step. */
  readonly next?: string;
}

export interface BenchReport {
  readonly version: 2;
  readonly mode: 'smoke' | 'full';
  /** The run's id: its keyspace was `bench_<id>`, its topics and groups `bench-<id>-...` (all removed). */
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: MachineInfo & {
    readonly kafka: string;
    readonly cassandra: string;
    readonly servicesMode: string;
    readonly loadAverage1mAtEnd: number;
  };
  readonly settings: {
    readonly count: number;
    readonly payloadBytes: number;
    readonly partitions: number;
    readonly batchSize: number;
    readonly windowSeconds: number;
    readonly writeConcurrency: number | 'default';
    readonly batchStatements: number | 'default';
    readonly pollers: number | 'default';
    readonly runner: string;
  };
  readonly cassandraCeiling: CassandraCeiling | null;
  readonly kafkaCeiling: KafkaCeiling | null;
  /** The event-source runner with an empty handler: what the runner itself costs over raw consumption. */
  readonly runnerEmptyHandler:
    | (Throughput & {
        readonly batches: BatchStats;
        readonly cpu: CpuUse;
        readonly cpuMicrosPerRecord: Readonly<Record<string, number>>;
      })
    | null;
  readonly pipeline: PipelineResult | null;
  readonly latency: readonly LatencyResult[];
  readonly restart: RestartResult | null;
  readonly handlers: HandlersResult | null;
  /** The consumer's bundle in Lambda-sized processes (bench/lambda-sized.ts). */
  readonly lambdaSized: LambdaSizedResult | null;
  readonly targets: readonly Target[];
  readonly files: { json: string; chart: string };
}

/** The targets of issue 12. */
export const PIPELINE_TARGET_RATIO = 0.9;
export const CONSUMER_CPU_TARGET_FACTOR = 1.3;
export const CASSANDRA_CPU_TARGET_FACTOR = 1.1;
export const FIXED_LATENCY = { rate: 2000, windowSeconds: 5 } as const;
export const DELAY_TARGET_MS = { fixed: 100, half: 250 } as const;
export const RESTART_TARGET_MS = 5000;
export const MAX_BUNDLE_BYTES = 500 * 1024;
export const MAX_IMPORT_MS = 60;
/**
 * The redrive functions' budget (test/lib/app.test.ts has the same): they carry kafkajs, the Cassandra driver and
 * the SQS client at once, off the data path.
 */
export const MAX_REDRIVE_BUNDLE_BYTES = 1100 * 1024;

export function targetsOf(report: Omit<BenchReport, 'targets' | 'files'>): Target[] {
  const targets: Target[] = [];
  const { pipeline, cassandraCeiling, latency, restart, handlers } = report;
  if (pipeline && cassandraCeiling) {
    const best = cassandraCeiling.best;
    const rate = pipeline.steady?.rate ?? pipeline.rate;
    const ratio = rate / best.rate;
    const perRecord = pipeline.steadyCpu?.cpuMicrosPerRecord ?? pipeline.cpuMicrosPerRecord;
    const cores = report.machine.cores;
    const cpuLimit = cpuBound(perRecord, best.rate, cores);
    // The CPU per row explains a miss only when the cores it allows do not reach the target; otherwise the pipeline
    // left cores idle, and less CPU per row is not the next step.
    const cpuBinds = cpuLimit !== null && cpuLimit < PIPELINE_TARGET_RATIO;
    const busy = (): string => {
      const busyCores = (pipeline.steadyCpu?.cpu ?? pipeline.cpu).machine;
      return Number.isFinite(busyCores) ? busyCores.toFixed(2) : 'n/a';
    };
    targets.push(
      unlessHolds({
        name: 'pipeline throughput',
        target: `>= ${PIPELINE_TARGET_RATIO * 100}% of the Cassandra ceiling (${fmt(best.rate * PIPELINE_TARGET_RATIO)}/s)`,
        measured: `${fmt(rate)}/s = ${pct(ratio)} (whole run ${fmt(pipeline.rate)}/s)`,
        holds: ratio >= PIPELINE_TARGET_RATIO,
        ...(cpuLimit !== null && {
          bound: cpuBinds
            ? `CPU: the machine spends ${perRecord.machine!.toFixed(1)} µs per row` +
              (best.cpuMicrosPerRecord.machine === undefined
                ? ''
                : ` against the ceiling's ${best.cpuMicrosPerRecord.machine.toFixed(1)}`) +
              `, so its ${cores} cores, saturated, write at most ${fmt(cpuLimit * best.rate)} rows/s: ${pct(cpuLimit)} of the ceiling`
            : `not the CPU per row: at ${perRecord.machine!.toFixed(1)} µs per row the machine's ${cores} cores allow ` +
              `${pct(cpuLimit)} of the ceiling, and ${busy()} of them were busy`,
        }),
        next:
          cpuLimit === null || cpuBinds
            ? 'less CPU per row, in the consumer and in Cassandra (the next two targets)'
            : "keep the cores busy: more batches or requests in flight (pollers, the sink's write concurrency), or less of each batch's serial part (read + claim, commit)",
      }),
    );
    // CPU per record, like the rate, over the steady part: a ceiling level's CPU is taken from its first write to
    // its last acknowledgement, its client already connected, every request in flight from the start. The whole run
    // adds the clients' connections and the group join, and its first and last batches, which run at a fraction of
    // the rate (Cassandra's cost per row rises as its rate falls) around the last window's wait. Shown beside it.
    const cpuFactor = (processName: 'bench' | 'cassandra', ceilingMicros: number): string => {
      const judged = perRecord[processName]!;
      const whole = pipeline.cpuMicrosPerRecord[processName];
      const text = `${judged.toFixed(1)} µs = ${(judged / ceilingMicros).toFixed(2)}x`;
      return pipeline.steadyCpu && whole !== undefined
        ? `${text} (whole run ${whole.toFixed(1)} µs = ${(whole / ceilingMicros).toFixed(2)}x)`
        : text;
    };
    const consumer = perRecord.bench;
    const client = best.cpuMicrosPerRecord.bench;
    if (consumer !== undefined && client !== undefined) {
      // In the cloud the event source mapping fetches and builds the events; the function runs the handler alone.
      const runner = report.runnerEmptyHandler?.cpuMicrosPerRecord.bench;
      const kafkajs = report.kafkaCeiling
        ? cpuPerRecord(report.kafkaCeiling.cpu, report.kafkaCeiling.records).bench
        : undefined;
      // The size the consumers deploy with, unless the run left it out.
      const lambda =
        report.lambdaSized?.variants.find((v) => v.memoryMb === CONSUMER_MEMORY_MB) ??
        report.lambdaSized?.variants[0];
      const parts = [
        runner !== undefined &&
          `the runner, which does the event source mapping's work in this process: ${runner.toFixed(1)} µs a record with an empty handler from the group join` +
            (kafkajs !== undefined
              ? ` (kafkajs alone from the group join, an empty eachBatch: ${kafkajs.toFixed(1)})`
              : ''),
        lambda &&
          `the handler alone, Lambda-sized (${lambda.label}): ${lambda.cpuMicrosPerRecord.toFixed(1)} µs = ${(lambda.cpuMicrosPerRecord / client).toFixed(2)}x`,
      ].filter((part): part is string => typeof part === 'string');
      targets.push(
        unlessHolds({
          name: 'consumer CPU per record',
          target: `<= ${CONSUMER_CPU_TARGET_FACTOR}x the ceiling's client (${client.toFixed(1)} µs)`,
          measured: cpuFactor('bench', client),
          holds: consumer <= CONSUMER_CPU_TARGET_FACTOR * client,
          ...(parts.length && { bound: parts.join('; ') }),
          next: "a lighter Kafka fetch path for the local runner (in Lambda, the event source mapping's)",
        }),
      );
    }
    const cPipe = perRecord.cassandra;
    const cCeil = best.cpuMicrosPerRecord.cassandra;
    if (cPipe !== undefined && cCeil !== undefined) {
      const sameMethod = cassandraCeiling.levels.filter((l) => l.method === best.method);
      const atRate = pipeline.steady ? cassandraCostAtRate(sameMethod, pipeline.steady.rate) : null;
      targets.push(
        unlessHolds({
          name: 'Cassandra CPU per record',
          target: `<= ${CASSANDRA_CPU_TARGET_FACTOR}x the ceiling's (${cCeil.toFixed(1)} µs)`,
          measured: cpuFactor('cassandra', cCeil),
          holds: cPipe <= CASSANDRA_CPU_TARGET_FACTOR * cCeil,
          ...(atRate && {
            bound:
              `the pipeline's rate: at ${fmt(rate)} rows/s the ceiling's ${best.method} levels cost ` +
              `${atRate.micros.toFixed(1)} µs a row, and the pipeline ${(cPipe / atRate.micros).toFixed(2)}x that`,
          }),
          // A higher rate helps only where the pipeline costs what the ceiling does at its rate; above that, the
          // pipeline asks more of Cassandra per row than the ceiling's writes do.
          next:
            atRate && cPipe > CASSANDRA_CPU_TARGET_FACTOR * atRate.micros
              ? 'less Cassandra work per row: even at its own rate the pipeline costs more than the ceiling ' +
                "(the checkpoint's lightweight transactions and the ledger row per batch, the statements' shape)"
              : "a higher pipeline rate (Cassandra's cost per row falls as its rate rises)",
        }),
      );
    }
  }
  for (const l of latency) {
    const limit = DELAY_TARGET_MS[l.name];
    const b = l.batches;
    targets.push(
      unlessHolds({
        name: `processing delay p99 at ${fmt(l.rate)}/s, window ${l.windowSeconds} s`,
        target: `<= ${limit} ms`,
        measured: `${fmt(l.processingDelayMs.p99)} ms (latency p99 ${fmt(l.rowWrittenMs.p99)} ms)`,
        holds: l.processingDelayMs.p99 <= limit,
        ...(b.count > 0 && {
          bound: [
            `its batches: ${fmt(b.meanRecords)} records in ${fmt(b.meanDurationMs)} ms: ` +
              `read + claim ${fmt(b.meanReadClaimMs)}, writes ${fmt(b.meanEffectsMs)}, commit ${fmt(b.meanCommitMs)} ms (means)`,
            l.fetchDelayMs && `send to fetched p99 ${fmt(l.fetchDelayMs.p99)} ms`,
            cassandraCeiling && delayFloor(b.meanRecords, limit, cassandraCeiling.best.rate),
          ]
            .filter(Boolean)
            .join('; '),
        }),
        next: 'fewer records a batch (the batch size), or one Paxos round fewer a batch (a claim without the read)',
      }),
    );
  }
  if (restart) {
    const steps: Array<[string, number]> = [
      ['process start', restart.processUpMs],
      ['group join', restart.joinedMs - restart.processUpMs],
      ['first fetch', restart.fetchedMs - restart.joinedMs],
      ['first batch', restart.firstBatchMs - restart.fetchedMs],
    ];
    const [slowest, slowestMs] = steps.reduce((a, b) => (b[1] > a[1] ? b : a));
    targets.push(
      unlessHolds({
        name: 'restart after SIGKILL',
        target: `next batch within ${RESTART_TARGET_MS / 1000} s`,
        measured: `${fmt(restart.firstBatchMs)} ms`,
        holds: restart.firstBatchMs <= RESTART_TARGET_MS,
        bound: `its steps from the kill: ${steps.map(([step, ms]) => `${step} ${fmt(ms)} ms`).join(', ')}`,
        next: `a shorter ${slowest} (${fmt(slowestMs)} ms)`,
      }),
    );
  }
  for (const h of handlers?.handlers ?? []) {
    const budget = h.handler === 'redrive' ? MAX_REDRIVE_BUNDLE_BYTES : MAX_BUNDLE_BYTES;
    const largest = h.breakdown[0];
    const largestText = largest ? `${largest.name} ${fmt(largest.bytes / 1024)} KB` : undefined;
    const p = h.importParts;
    const bound = [
      h.bytes > budget && largestText && `its largest part, ${largestText}`,
      h.importMs > MAX_IMPORT_MS &&
        p &&
        `its import: Node's built-in modules ${fmt(p.builtinsMs)} ms, compiling ${fmt(p.compileMs)} ms, ` +
          `running the modules' top-level code ${fmt(p.topLevelMs)} ms`,
    ].filter((part): part is string => typeof part === 'string');
    targets.push(
      unlessHolds({
        name: `bundle ${h.handler}`,
        target: `<= ${fmt(budget / 1024)} KB, import <= ${MAX_IMPORT_MS} ms (in a process with the Lambda runtime's modules)`,
        measured:
          `${fmt(h.bytes / 1024)} KB, ${fmt(h.importMs)} ms` +
          (h.bareImportMs === undefined ? '' : ` (in a bare process ${fmt(h.bareImportMs)} ms)`),
        holds: h.bytes <= budget && h.importMs <= MAX_IMPORT_MS,
        ...(bound.length && { bound: bound.join('; ') }),
        next: largestText
          ? `less code loaded at import (its largest part: ${largestText})`
          : 'less code loaded at import',
      }),
    );
  }
  return targets;
}

/**
 * A processing delay no pipeline can beat at this ceiling: a batch's rows are written after it closes, at most at
 * the ceiling's rate, so the last 1% of a batch of `records` rows are written at least 0.99 * records / ceiling
 * after its close, whatever the order or the concurrency. The pollers' batches close apart (`firstBatchShare`,
 * local/runner.ts), so one batch's rows have the ceiling to themselves.
 */
export function delayFloor(records: number, limitMs: number, ceilingRate: number): string {
  const floorMs = (0.99 * records * 1000) / ceilingRate;
  return (
    `floor at the ceiling's ${fmt(ceilingRate)}/s: the last 1% of a batch's rows written ${fmt(floorMs)} ms ` +
    `after it closes; ${fmt(limitMs)} ms needs a ceiling of ${fmt((0.99 * records * 1000) / limitMs)}/s`
  );
}

/** A target keeps its bound and next step only when it does not hold. */
function unlessHolds(t: Target): Target {
  return t.holds === false ? t : { name: t.name, target: t.target, measured: t.measured, holds: t.holds };
}

export function fmt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

export function pct(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? 'n/a' : `${(ratio * 100).toFixed(1)}%`;
}

/** CPU µs per record of the named processes, e.g. `bench 12.0, cassandra 25.1, kafka 1.2`. */
function perRecordText(perRecord: Readonly<Record<string, number>> | undefined): string {
  if (!perRecord) return '';
  return ['bench', 'cassandra', 'kafka']
    .filter((k) => k in perRecord)
    .map((k) => `${k} ${perRecord[k]!.toFixed(1)}`)
    .join(', ');
}

function cpuText(cpu: CpuUse | undefined, perRecord?: Readonly<Record<string, number>>): string {
  if (!cpu) return '';
  const parts = Object.entries(cpu.byProcess).map(([name, cores]) => `${name} ${cores.toFixed(2)}`);
  const text = `${parts.join(', ')}, other ${cpu.other.toFixed(2)} (of ${cpu.machine.toFixed(2)} busy)`;
  return perRecord ? `${text}; µs/record: ${perRecordText(perRecord)}` : text;
}

/**
 * What the machine's CPU allows the pipeline, as a ratio to the ceiling: at `pipeline.machine` µs of CPU per row
 * (every process, the whole machine), `cores` saturated cores write at most cores / µs-per-row rows a second. Not
 * the ceiling's machine µs per row over the pipeline's: that ratio takes the cores the ceiling kept busy (1.83 to
 * 1.95 of 2 in the runs of bench/README.md) for the machine's, so it read below what the pipeline then measured
 * (70.1% "at most" against 71.4% at 2026-12-01 01:13).
 */
export function cpuBound(
  pipeline: Readonly<Record<string, number>>,
  ceilingRate: number,
  cores: number,
): number | null {
  const p = pipeline.machine;
  return p && cores > 0 && ceilingRate > 0 ? (cores * 1e6) / (p * ceilingRate) : null;
}

function cpuBoundText(
  pipeline: Readonly<Record<string, number>>,
  ceiling:
    { readonly rate: number; readonly cpuMicrosPerRecord: Readonly<Record<string, number>> } | undefined,
  cores: number,
): string {
  const bound = ceiling ? cpuBound(pipeline, ceiling.rate, cores) : null;
  return bound === null
    ? `machine ${pipeline.machine?.toFixed(1) ?? 'n/a'} µs of CPU per row`
    : `machine ${pipeline.machine!.toFixed(1)} µs of CPU per row (the ceiling's ${ceiling!.cpuMicrosPerRecord.machine?.toFixed(1) ?? 'n/a'}): ` +
        `on ${cores} saturated cores the pipeline reaches at most ${pct(bound)} of the ceiling`;
}

/**
 * What Cassandra spends per row at a given request rate, read off the ceiling's levels of one method (rows/s
 * against Cassandra's µs per row), linearly between the two nearest rates; outside the levels' rates, the nearest
 * level's. Cassandra's cost per row falls as its rate rises (its request threads wake and park less per request),
 * so the pipeline's Cassandra CPU is fairly compared with the ceiling's at the pipeline's own rate.
 */
export function cassandraCostAtRate(
  levels: ReadonlyArray<{
    readonly rate: number;
    readonly cpuMicrosPerRecord: Readonly<Record<string, number>>;
  }>,
  rate: number,
): { readonly micros: number; readonly within: boolean } | null {
  const points = levels
    .filter((l) => l.cpuMicrosPerRecord.cassandra !== undefined)
    .map((l) => ({ rate: l.rate, micros: l.cpuMicrosPerRecord.cassandra! }))
    .sort((a, b) => a.rate - b.rate);
  if (!points.length) return null;
  if (rate <= points[0]!.rate) return { micros: points[0]!.micros, within: rate === points[0]!.rate };
  const last = points[points.length - 1]!;
  if (rate >= last.rate) return { micros: last.micros, within: rate === last.rate };
  const upper = points.findIndex((p) => p.rate >= rate);
  const a = points[upper - 1]!;
  const b = points[upper]!;
  const micros = a.micros + ((b.micros - a.micros) * (rate - a.rate)) / (b.rate - a.rate);
  return { micros: Math.round(micros * 10) / 10, within: true };
}

/** The terminal summary: one table of measures, one of the ceiling's levels, one of the bundles, one of targets. */
export function renderSummary(report: BenchReport): string {
  const m = report.machine;
  const rows: Array<Record<string, string>> = [];
  const add = (measure: string, value: string, detail = '', cpu = ''): void => {
    rows.push({ measure, value, detail, 'cores used': cpu });
  };
  const c = report.cassandraCeiling;
  if (c) {
    for (const [method, level] of Object.entries(c.byMethod)) {
      const runs = c.levels.filter((l) => l.method === level.method && l.concurrency === level.concurrency);
      add(
        `Cassandra, ${method}`,
        `${fmt(level.rate)}/s`,
        `best at ${level.concurrency} in flight${level.rowsPerRequest > 1 ? ` of ${level.rowsPerRequest} rows` : ''}` +
          (runs.length > 1
            ? `, median of ${runs.length} runs (${runs.map((r) => fmt(r.rate)).join(', ')}/s)`
            : '') +
          (level === c.best ? ' = the ceiling' : ''),
        cpuText(level.cpu, level.cpuMicrosPerRecord),
      );
    }
  }
  const k = report.kafkaCeiling;
  if (k)
    add(
      'Kafka ceiling',
      `${fmt(k.rate)}/s`,
      `${fmt(k.records)} records in ${k.seconds.toFixed(2)} s`,
      cpuText(k.cpu),
    );
  const r = report.runnerEmptyHandler;
  if (r)
    add(
      'runner, empty handler',
      `${fmt(r.rate)}/s`,
      `${r.batches.count} batches of ${fmt(r.batches.meanRecords)} records`,
      cpuText(r.cpu, r.cpuMicrosPerRecord),
    );
  const p = report.pipeline;
  if (p) {
    const b = p.batches;
    add(
      'pipeline',
      `${fmt(p.steady?.rate ?? p.rate)}/s`,
      `steady ${p.steady ? `${fmt(p.steady.rows)} rows in ${p.steady.seconds.toFixed(2)} s` : 'n/a'} = ${pct(p.ratioToCassandra)} of Cassandra; ` +
        `whole run ${fmt(p.records)} records in ${p.seconds.toFixed(2)} s = ${fmt(p.rate)}/s, ${pct(p.ratioToKafka)} of Kafka; ` +
        `${b.count} batches of ${fmt(b.meanRecords)} records, ${fmt(b.meanDurationMs)} ms each (read+claim ${fmt(b.meanReadClaimMs)}, ` +
        `transform ${fmt(b.meanTransformMs)}, writes ${fmt(b.meanEffectsMs)}, commit ${fmt(b.meanCommitMs)}, other ${fmt(b.meanOtherMs)} ms); ` +
        `pollers ${p.pollers}; requests in flight mean ${p.inFlight.mean.toFixed(1)}, max ${p.inFlight.max}` +
        (p.eventLoop
          ? `; steady part: consumer event loop ${pct(p.eventLoop.utilization)} busy, delay p99 ${fmt(p.eventLoop.delayP99Ms)} ms, max ${fmt(p.eventLoop.delayMaxMs)} ms`
          : ''),
      cpuText(p.cpu, p.cpuMicrosPerRecord),
    );
  }
  if (p?.steadyCpu) {
    add(
      'pipeline, steady part',
      '',
      cpuBoundText(p.steadyCpu.cpuMicrosPerRecord, c?.best, m.cores),
      cpuText(p.steadyCpu.cpu, p.steadyCpu.cpuMicrosPerRecord),
    );
    const pipelineCassandra = p.steadyCpu.cpuMicrosPerRecord.cassandra;
    const sameMethod = c?.levels.filter((l) => l.method === c.best.method) ?? [];
    const atRate = p.steady ? cassandraCostAtRate(sameMethod, p.steady.rate) : null;
    if (p.steady && atRate && pipelineCassandra !== undefined) {
      add(
        "Cassandra at the pipeline's rate",
        `${atRate.micros.toFixed(1)} µs/row`,
        `the ceiling's ${c!.best.method} levels at ${fmt(p.steady.rate)} rows/s (${atRate.within ? 'between its levels' : "outside its levels' rates: the nearest level's"}), ` +
          `against the pipeline's ${pipelineCassandra.toFixed(1)} µs over its steady part = ${(pipelineCassandra / atRate.micros).toFixed(2)}x`,
      );
    }
  }
  for (const l of report.latency) {
    const d = l.rowWrittenMs;
    const q = l.processingDelayMs;
    add(
      `latency at ${fmt(l.rate)}/s`,
      `p50 ${fmt(d.p50)} / p99 ${fmt(d.p99)} ms`,
      `window ${l.windowSeconds} s, batch ${fmt(l.batchSize)}, ${fmt(d.count)} records; processing delay p50 ${fmt(q.p50)} / p95 ${fmt(q.p95)} / p99 ${fmt(q.p99)} ms` +
        (l.fetchDelayMs
          ? ` (send to fetched p50 ${fmt(l.fetchDelayMs.p50)} / p99 ${fmt(l.fetchDelayMs.p99)} ms); `
          : '; ') +
        `to batch committed p99 ${fmt(l.batchCommittedMs.p99)} ms`,
      cpuText(l.cpu),
    );
  }
  // Where Cassandra's CPU went in the ceiling's best level and in the pipeline, thread group by group.
  const threadsText = (cpu: CpuUse | undefined): string =>
    Object.entries(cpu?.threads?.['cassandra'] ?? {})
      .slice(0, 8)
      .map(([group, cores]) => `${group} ${cores.toFixed(2)}`)
      .join(', ');
  if (c?.best.cpu.threads) add('Cassandra threads, ceiling', '', threadsText(c.best.cpu), '');
  if (p?.cpu.threads) add('Cassandra threads, pipeline', '', threadsText(p.cpu), '');
  const s = report.restart;
  if (s) {
    add(
      'restart after SIGKILL',
      `${fmt(s.firstBatchMs)} ms`,
      `${s.staticMembership ? 'static' : 'dynamic'} member, session ${s.sessionTimeoutMs === 'default' ? 'default' : `${s.sessionTimeoutMs} ms`}; ` +
        `from the kill: process up ${fmt(s.processUpMs)}, joined ${fmt(s.joinedMs)}, first records ${fmt(s.fetchedMs)}, batch committed ${fmt(s.firstBatchMs)} ms`,
    );
  }
  const ls = report.lambdaSized;
  // In the cloud the event source mapping's pollers fetch and build the events; the function runs the handler
  // alone. Its CPU per record beside the ceiling's client shows what the consumer target means for Lambda.
  const ceilingClient = c?.best.cpuMicrosPerRecord.bench;
  const first = ls?.variants[0];
  for (const v of ls?.variants ?? []) {
    const heap = (mb: number | null) => (mb === null ? 'default' : `${fmt(mb)} MB`);
    const [low, high] = v.cpuMicrosPerRecordRange;
    const spread =
      v.rounds > 1 ? `median of ${v.rounds} rounds (runs ${low.toFixed(1)}–${high.toFixed(1)}); ` : '';
    const versusFirst =
      v.rounds > 1 && first && v !== first
        ? `below ${first.label} in ${v.lowerThanFirst} of ${v.rounds} rounds; `
        : '';
    add(
      `${ls!.bundle} handler, ${v.label}`,
      `${v.cpuMicrosPerRecord.toFixed(1)} µs/record`,
      (ceilingClient ? `${(v.cpuMicrosPerRecord / ceilingClient).toFixed(2)}x the ceiling's client; ` : '') +
        spread +
        versusFirst +
        `semi-space ${heap(v.semiSpaceMb)}, old space ${heap(v.oldSpaceMb)}${ls!.pinnedToOneCore ? ', one core' : ''}; ` +
        `GC pauses ${v.gcMicrosPerRecord.toFixed(1)} µs/record, ${v.majorGcs} major collections a run (medians); ` +
        `${fmt(v.rounds)} × ${fmt(ls!.runs[0]?.invocations ?? 0)} invocations of ${fmt(ls!.runs[0]?.records ?? 0)} records, ${fmt(v.invocationMs)} ms each; RSS up to ${fmt(v.maxRssMb)} MB; ` +
        `checkpointed ${fmt(v.checkpointed)} of ${fmt(v.sent)} records`,
    );
  }
  const levels =
    c?.levels.map((l) => ({
      method: l.method,
      'in flight': String(l.concurrency),
      run: String(l.run),
      rows: fmt(l.writes),
      'rows/s': fmt(l.rate),
      'µs/row': perRecordText(l.cpuMicrosPerRecord),
      other: l.cpu.other.toFixed(2),
    })) ?? [];
  const bundles = (report.handlers?.handlers ?? []).map((h) => ({
    handler: h.handler,
    KB: fmt(h.bytes / 1024),
    import: `${h.importMs.toFixed(0)} ms`,
    'bare process': h.bareImportMs === undefined ? '' : `${h.bareImportMs.toFixed(0)} ms`,
    'largest parts (KB)': h.breakdown
      .slice(0, 6)
      .map((part) => `${part.name} ${fmt(part.bytes / 1024)}`)
      .join(', '),
  }));
  const machine =
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}` +
    `${m.functionNode ? ` (the handlers' phases on ${m.functionNode})` : ''}; ` +
    `Kafka ${m.kafka}, Cassandra ${m.cassandra} (${m.servicesMode}); load ${m.loadAverage1mAtStart} -> ${m.loadAverage1mAtEnd}`;
  const anyBound = report.targets.some((t) => t.bound || t.next);
  const targets = report.targets.map((t) => ({
    target: `${t.name}: ${t.target}`,
    measured: t.measured,
    holds: t.holds === null ? 'n/a' : t.holds ? 'yes' : 'NO',
    ...(anyBound && {
      'bounded by (measured); next step': [t.bound, t.next && `next: ${t.next}`].filter(Boolean).join('; '),
    }),
  }));
  const warm = c?.warmup;
  return [
    `Benchmark (${report.mode}) on ${machine}`,
    leftAligned(renderTable(rows)),
    ...(levels.length
      ? [
          `Cassandra ceiling by level (after a ${warm?.seconds ?? 0} s warm-up; JIT ${warm?.jitCoresAtEnd ?? 'n/a'} cores at its end):`,
          leftAligned(renderTable(levels)),
        ]
      : []),
    ...(bundles.length ? [leftAligned(renderTable(bundles))] : []),
    leftAligned(renderTable(targets)),
    `JSON:  ${report.files.json}`,
    `Chart: ${report.files.chart}`,
  ].join('\n');
}

/** renderTable right-aligns every cell; text columns read better left-aligned. */
function leftAligned(table: string): string {
  return table
    .split('\n')
    .map((line) =>
      line.startsWith('|')
        ? line
            .split('|')
            .map((cell, i, all) =>
              i === 0 || i === all.length - 1 ? cell : ` ${cell.trim().padEnd(cell.length - 2)} `,
            )
            .join('|')
        : line,
    )
    .join('\n');
}
