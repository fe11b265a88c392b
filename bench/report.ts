/** The benchmark's report: its JSON shape, the targets of the issue, and the table printed on the terminal. */
import { renderTable } from '../local/table';
import type { CassandraCeiling } from './cassandra-ceiling';
import type { HandlersResult } from './handlers';
import type { KafkaCeiling } from './kafka-ceiling';
import type { CpuUse, MachineInfo } from './machine';
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
  /** Mean ms per batch: runner between batches, handler before the writes, writing, after the writes. */
  readonly meanGapMs: number;
  readonly meanBeforeWritesMs: number;
  readonly meanWritingMs: number;
  readonly meanAfterWritesMs: number;
}

export interface PipelineResult extends Throughput {
  readonly ratioToCassandra: number | null;
  readonly ratioToKafka: number | null;
  readonly batches: BatchStats;
  /** What Cassandra holds afterwards: rows in sent_received, and the checkpoints' next offsets summed. */
  readonly verified: { readonly rows: number; readonly checkpointed: number };
  readonly timeline: ReadonlyArray<{ readonly t: number; readonly rate: number }>;
  readonly cpu: CpuUse;
  /** CPU time per record written, µs, per process (from `cpu`). */
  readonly cpuMicrosPerRecord: Readonly<Record<string, number>>;
  /** Per statement kind: how many, and their mean latency in ms. */
  readonly statements: Readonly<Record<string, { readonly count: number; readonly meanMs: number }>>;
  readonly warnings: readonly string[];
}

export interface LatencyResult {
  readonly rate: number;
  readonly seconds: number;
  readonly sent: number;
  readonly windowSeconds: number;
  /** Records sent in the first `warmupSeconds` are not measured... */
  readonly warmupSeconds: number;
  /** ...nor those of the `cooldownSeconds` the producer runs on after `seconds`. */
  readonly cooldownSeconds: number;
  /** Send time to the INSERT of the record's row acknowledged by Cassandra. */
  readonly rowWrittenMs: Distribution;
  /** Send time to the record's batch done: rows written and checkpoint moved. */
  readonly batchCommittedMs: Distribution;
  readonly batches: BatchStats;
  readonly timeline: ReadonlyArray<{
    readonly t: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
  }>;
  readonly cpu: CpuUse;
  readonly warnings: readonly string[];
}

export interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly holds: boolean | null;
}

export interface BenchReport {
  readonly version: 1;
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
    readonly runner: string;
  };
  readonly cassandraCeiling:
    | (CassandraCeiling & {
        readonly cpu: CpuUse;
        readonly cpuMicrosPerRecord: Readonly<Record<string, number>>;
      })
    | null;
  readonly kafkaCeiling: (KafkaCeiling & { readonly cpu: CpuUse }) | null;
  /** The event-source runner with an empty handler: what the runner itself costs over raw consumption. */
  readonly runnerEmptyHandler: (Throughput & { readonly batches: BatchStats; readonly cpu: CpuUse }) | null;
  readonly pipeline: PipelineResult | null;
  readonly latency: LatencyResult | null;
  readonly handlers: HandlersResult | null;
  readonly targets: readonly Target[];
  readonly files: { json: string; chart: string };
}

export const MAX_BUNDLE_BYTES = 1024 * 1024;
export const PIPELINE_TARGET_RATIO = 0.85;
export const LATENCY_SLACK_MS = 250;

export function targetsOf(report: Omit<BenchReport, 'targets' | 'files'>): Target[] {
  const targets: Target[] = [];
  const { pipeline, cassandraCeiling, latency, handlers } = report;
  if (pipeline && cassandraCeiling) {
    const ratio = pipeline.rate / cassandraCeiling.best.rate;
    targets.push({
      name: 'pipeline throughput',
      target: `>= ${PIPELINE_TARGET_RATIO * 100}% of the Cassandra ceiling (${fmt(cassandraCeiling.best.rate * PIPELINE_TARGET_RATIO)}/s)`,
      measured: `${fmt(pipeline.rate)}/s = ${pct(ratio)}`,
      holds: ratio >= PIPELINE_TARGET_RATIO,
    });
  }
  if (latency) {
    const limit = latency.windowSeconds * 1000 + LATENCY_SLACK_MS;
    targets.push({
      name: 'p99 latency',
      target: `<= window + ${LATENCY_SLACK_MS} ms (${fmt(limit)} ms)`,
      measured: `${fmt(latency.rowWrittenMs.p99)} ms`,
      holds: latency.rowWrittenMs.p99 <= limit,
    });
  }
  for (const h of handlers?.handlers ?? []) {
    targets.push({
      name: `bundle ${h.handler}`,
      target: `<= 1 MB (${fmt(MAX_BUNDLE_BYTES)} B)`,
      measured: `${fmt(h.bytes)} B`,
      holds: h.bytes <= MAX_BUNDLE_BYTES,
    });
  }
  return targets;
}

export function fmt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

export function pct(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? 'n/a' : `${(ratio * 100).toFixed(1)}%`;
}

function cpuText(cpu: CpuUse | undefined, perRecord?: Readonly<Record<string, number>>): string {
  if (!cpu) return '';
  const parts = Object.entries(cpu.byProcess).map(([name, cores]) => `${name} ${cores.toFixed(2)}`);
  const text = `${parts.join(', ')}, other ${cpu.other.toFixed(2)} (of ${cpu.machine.toFixed(2)} busy)`;
  if (!perRecord) return text;
  const us = ['bench', 'cassandra']
    .filter((k) => k in perRecord)
    .map((k) => `${k} ${perRecord[k]!.toFixed(0)}`);
  return `${text}; µs/record: ${us.join(', ')}`;
}

/** The terminal summary: one table of measures and one of targets. */
export function renderSummary(report: BenchReport): string {
  const m = report.machine;
  const rows: Array<Record<string, string>> = [];
  const add = (measure: string, value: string, detail = '', cpu = ''): void => {
    rows.push({ measure, value, detail, 'cores used': cpu });
  };
  const c = report.cassandraCeiling;
  if (c) {
    add(
      'Cassandra ceiling',
      `${fmt(c.best.rate)}/s`,
      `best at ${c.best.concurrency} in flight; ${c.levels.map((l) => `${l.concurrency}: ${fmt(l.rate)}`).join(', ')}`,
      cpuText(c.cpu, c.cpuMicrosPerRecord),
    );
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
      cpuText(r.cpu),
    );
  const p = report.pipeline;
  if (p) {
    add(
      'pipeline',
      `${fmt(p.rate)}/s`,
      `${fmt(p.records)} records in ${p.seconds.toFixed(2)} s; ${pct(p.ratioToCassandra)} of Cassandra, ${pct(p.ratioToKafka)} of Kafka; ` +
        `${p.batches.count} batches of ${fmt(p.batches.meanRecords)} records, ${fmt(p.batches.meanDurationMs)} ms each ` +
        `(runner ${fmt(p.batches.meanGapMs)} + before writes ${fmt(p.batches.meanBeforeWritesMs)} + writing ${fmt(p.batches.meanWritingMs)} + after ${fmt(p.batches.meanAfterWritesMs)} ms)`,
      cpuText(p.cpu, p.cpuMicrosPerRecord),
    );
  }
  const l = report.latency;
  if (l) {
    const d = l.rowWrittenMs;
    add(
      'latency, send to row',
      `p50 ${fmt(d.p50)} / p95 ${fmt(d.p95)} / p99 ${fmt(d.p99)} ms`,
      `${fmt(l.rate)}/s for ${l.seconds} s (${fmt(d.count)} records), window ${l.windowSeconds} s, max ${fmt(d.max)} ms; ` +
        `to batch committed p99 ${fmt(l.batchCommittedMs.p99)} ms`,
      cpuText(l.cpu),
    );
  }
  for (const h of report.handlers?.handlers ?? []) {
    add(
      `handler ${h.handler}`,
      `${(h.bytes / 1024 / 1024).toFixed(2)} MB`,
      `cold import ${h.importMs.toFixed(0)} ms (process ${h.processMs.toFixed(0)} ms)`,
    );
  }
  const machine =
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; ` +
    `Kafka ${m.kafka}, Cassandra ${m.cassandra} (${m.servicesMode}); load ${m.loadAverage1mAtStart} -> ${m.loadAverage1mAtEnd}`;
  const targets = report.targets.map((t) => ({
    target: `${t.name}: ${t.target}`,
    measured: t.measured,
    holds: t.holds === null ? 'n/a' : t.holds ? 'yes' : 'NO',
  }));
  return [
    `Benchmark (${report.mode}) on ${machine}`,
    leftAligned(renderTable(rows)),
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
