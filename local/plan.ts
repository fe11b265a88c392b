/**
 * `microbatch plan`: what a load of `rate` records a second of `recordBytes` each takes on AWS, from the
 * quotas AWS documents (each with its URL in `QUOTAS`) and the per-record CPU that `npm run bench` measures.
 * Pure arithmetic: no CDK, no AWS call; `planFromBench` is the only function that reads a file.
 *
 * The model, per job, for the sent-received shape (one row per record) and the sensor-stats partials:
 * - Kafka: every partition is read by one consumer of the group at a time
 *   (https://kafka.apache.org/documentation/#intro_consumers), so a partition's batches run one after another;
 *   a batch holds what one partition receives in a batching window, capped by the batch size (10,000) and the
 *   6 MB invocation payload.
 * - Lambda: an invocation takes `fixed + records x CPU-per-record x (1,769 MB / memory)` (one vCPU at 1,769 MB),
 *   where `fixed` is the Keyspaces round trips of the checkpoint protocol. Concurrency is invocations a second
 *   times duration (Little's law).
 * - Keyspaces: one WRU per started KB written, one RRU per started 4 KB read; an LWT costs what a write of its
 *   row costs (no extra charge). Per partition per batch: a checkpoint read, a claim LWT, a commit LWT, and a
 *   ledger row (lambda/runtime/checkpoint.ts); per window partial a read and an LWT.
 * The assumptions that are no AWS quota are in `ASSUMPTIONS`, and the report prints them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSUMER_MEMORY_MB } from '../config';

/** A documented limit or price, and where it is documented. */
export interface Quota {
  readonly value: number;
  readonly what: string;
  readonly source: string;
}

export const QUOTAS = {
  lambdaBatchSize: {
    value: 10_000,
    what: 'records per batch of an MSK event source',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/msk-esm-parameters.html',
  },
  lambdaPayloadBytes: {
    value: 6 * 1024 * 1024,
    what: 'bytes of a synchronous invocation payload (6 MB)',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
  },
  lambdaConcurrency: {
    value: 1_000,
    what: 'concurrent executions per account and Region (default, adjustable)',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
  },
  lambdaMbPerVcpu: {
    value: 1_769,
    what: 'MB of memory that come with one vCPU',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html',
  },
  lambdaGbSecondUsd: {
    value: 0.0000133334,
    what: 'USD per GB-second, arm64, us-east-1',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  lambdaRequestUsd: {
    value: 0.2 / 1e6,
    what: 'USD per request, us-east-1',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  pollerMBps: {
    value: 5,
    what: 'MB/s an event poller of a Kafka event source carries',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/with-kafka-low-latency.html',
  },
  pollerConcurrency: {
    value: 5,
    what: 'concurrent invocations an event poller supports',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/with-kafka-low-latency.html',
  },
  maxPollers: {
    value: 2_000,
    what: 'provisioned event pollers of one Kafka event source at most',
    source: 'https://docs.aws.amazon.com/lambda/latest/api/API_ProvisionedPollerConfig.html',
  },
  serverlessIngressMBps: {
    value: 200,
    what: 'MBps of ingress into an MSK Serverless cluster',
    source: 'https://docs.aws.amazon.com/msk/latest/developerguide/limits.html#serverless-quota',
  },
  serverlessPartitionIngressMBps: {
    value: 5,
    what: 'MBps of ingress into one MSK Serverless partition',
    source: 'https://docs.aws.amazon.com/msk/latest/developerguide/limits.html#serverless-quota',
  },
  serverlessPartitions: {
    value: 2_400,
    what: 'partitions (leaders, non-compacted) of an MSK Serverless cluster',
    source: 'https://docs.aws.amazon.com/msk/latest/developerguide/limits.html#serverless-quota',
  },
  brokerPartitions: {
    value: 1_000,
    what: 'partitions (replicas included) recommended per kafka.m5.large or kafka.m7g.large broker',
    source: 'https://docs.aws.amazon.com/msk/latest/developerguide/bestpractices.html#partitions-per-broker',
  },
  brokersPerCluster: {
    value: 60,
    what: 'Standard brokers per KRaft cluster (30 with ZooKeeper; default, adjustable)',
    source: 'https://docs.aws.amazon.com/msk/latest/developerguide/limits.html#msk-provisioned-quota',
  },
  keyspacesTableWru: {
    value: 40_000,
    what: 'WRU a second per on-demand table (default, adjustable)',
    source: 'https://docs.aws.amazon.com/keyspaces/latest/devguide/quotas.html',
  },
  keyspacesTableRru: {
    value: 40_000,
    what: 'RRU a second per on-demand table (default, adjustable)',
    source: 'https://docs.aws.amazon.com/keyspaces/latest/devguide/quotas.html',
  },
  keyspacesWriteKb: {
    value: 1,
    what: 'KB of row per WRU (an LWT costs the same, no extra charge)',
    source: 'https://docs.aws.amazon.com/keyspaces/latest/devguide/lightweight_transactions.html',
  },
  keyspacesReadKb: {
    value: 4,
    what: 'KB of row per RRU (LOCAL_QUORUM)',
    source: 'https://docs.aws.amazon.com/keyspaces/latest/devguide/ReadWriteCapacityMode.html',
  },
  keyspacesWruUsd: {
    value: 1.45 / 1e6,
    what: 'USD per on-demand WRU, us-east-1',
    source: 'https://aws.amazon.com/keyspaces/pricing/',
  },
  keyspacesRruUsd: {
    value: 0.29 / 1e6,
    what: 'USD per on-demand RRU, us-east-1',
    source: 'https://aws.amazon.com/keyspaces/pricing/',
  },
} as const satisfies Record<string, Quota>;

/** What the model assumes where AWS documents no number. */
export const ASSUMPTIONS = {
  keyspacesRoundTripMs: {
    value: 10,
    what: 'ms per sequential Keyspaces round trip (checkpoint read, claim, commit, ledger); AWS says "single-digit millisecond" latency',
    source: 'https://docs.aws.amazon.com/keyspaces/latest/devguide/what-is-keyspaces.html',
  },
  eventBytesPerRecord: {
    value: 150,
    what: 'bytes of MSK event metadata per record, besides its base64 value (topic, partition, offset, timestamps)',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html',
  },
  headroom: {
    value: 0.7,
    what: 'fraction of a partition’s processing capacity a plan fills, to leave room for bursts and retries',
    source: 'this model',
  },
  rowOverheadBytes: {
    value: 132,
    what: 'bytes a sent_received row adds to its value: Keyspaces row metadata (up to 100) and time_received (32)',
    source: 'https://docs.aws.amazon.com/keyspaces/latest/devguide/calculating-row-size.html',
  },
  replicationFactor: {
    value: 2,
    what: 'replicas per partition on provisioned MSK (the pipeline spreads 2 AZs: kafka.brokerCount 2)',
    source: 'docs/cloud.md',
  },
} as const satisfies Record<string, Quota>;

export interface PlanInput {
  /** Records a second, more than 0. */
  readonly rate: number;
  /** Bytes of one record value, 1 to 1 MiB. */
  readonly recordBytes: number;
  /** Batching window in seconds, 0 to 300. @default 5 (the config's default) */
  readonly windowSeconds?: number;
  /** Partitions of the topic; omitted, the plan picks the fewest that carry the load. */
  readonly partitions?: number;
  /** Distinct keys (sensors) a sensor-stats window sees per partition. @default 16 */
  readonly keys?: number;
  /** Event-time window of sensor-stats, seconds. @default 60 */
  readonly statsWindowSeconds?: number;
  /** Lambda memory of the consumers, MB. @default CONSUMER_MEMORY_MB (config/index.ts) */
  readonly memoryMb?: number;
  /** Pipeline CPU per record, µs, as `npm run bench` measures it on one core. */
  readonly cpuMicrosPerRecord: number;
}

/** A limit at this load: how much of it the load uses. */
export interface LimitUse {
  readonly name: string;
  readonly demand: number;
  readonly limit: number;
  readonly used: number;
  readonly source: string;
}

export interface Plan {
  readonly input: Required<PlanInput>;
  readonly ingressMBps: number;
  readonly partitions: number;
  /** Records a partition can take a second: full batches back to back. */
  readonly partitionCapacity: number;
  readonly recordsPerBatch: number;
  readonly batchDurationMs: number;
  readonly invocationsPerSecond: number;
  readonly concurrency: number;
  readonly pollers: number;
  readonly provisionedPollersNeeded: boolean;
  readonly brokers: number;
  readonly sentReceived: { readonly wru: number; readonly rru: number; readonly checkpointWru: number };
  readonly sensorStats: { readonly wru: number; readonly rru: number; readonly partialsPerSecond: number };
  readonly costPerDayUsd: { readonly lambda: number; readonly keyspaces: number };
  readonly limits: readonly LimitUse[];
  readonly bindsFirst: LimitUse;
}

/** Raised for an input the model cannot plan for; the message names the input and the range. */
export class PlanInputError extends Error {
  override readonly name = 'PlanInputError';
}

function check(name: string, value: number, min: number, max: number, integer = false): void {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new PlanInputError(
      `--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, received ${value}.`,
    );
  }
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b - 1e-9);

export function plan(raw: PlanInput): Plan {
  const input: Required<PlanInput> = {
    windowSeconds: 5,
    partitions: 0,
    keys: 16,
    statsWindowSeconds: 60,
    memoryMb: CONSUMER_MEMORY_MB,
    ...raw,
  };
  check('rate', input.rate, 0.001, 1e9);
  check('record-bytes', input.recordBytes, 1, 1024 * 1024, true);
  check('window', input.windowSeconds, 0, 300);
  if (raw.partitions !== undefined) check('partitions', raw.partitions, 1, 100_000, true);
  check('keys', input.keys, 1, 1e9, true);
  check('memory', input.memoryMb, 128, 10_240, true);
  check('cpu', input.cpuMicrosPerRecord, 0.001, 1e6);
  const q = QUOTAS;
  const a = ASSUMPTIONS;

  const ingressMBps = (input.rate * input.recordBytes) / 1e6;
  // The base64 value plus the record's metadata, against the 6 MB payload.
  const eventBytes = Math.ceil(input.recordBytes / 3) * 4 + a.eventBytesPerRecord.value;
  const maxBatch = Math.min(q.lambdaBatchSize.value, Math.floor(q.lambdaPayloadBytes.value / eventBytes));
  const fixedMs = 4 * a.keyspacesRoundTripMs.value;
  const recordMs = (input.cpuMicrosPerRecord / 1000) * (q.lambdaMbPerVcpu.value / input.memoryMb);
  const durationMs = (records: number) => fixedMs + records * recordMs;
  const partitionCapacity = (maxBatch / durationMs(maxBatch)) * 1000;

  const partitions =
    raw.partitions ??
    Math.max(
      3,
      ceilDiv(input.rate, partitionCapacity * a.headroom.value),
      ceilDiv(ingressMBps, q.serverlessPartitionIngressMBps.value),
    );
  const perPartition = input.rate / partitions;
  // A batch closes at the window or when full; with no window it holds what one duration brings.
  const windowBatch =
    input.windowSeconds > 0
      ? perPartition * input.windowSeconds
      : (perPartition * fixedMs) / 1000 / Math.max(1e-9, 1 - (perPartition * recordMs) / 1000);
  const recordsPerBatch = Math.max(1, Math.min(maxBatch, windowBatch));
  const batchDurationMs = durationMs(recordsPerBatch);
  const invocationsPerSecond = input.rate / recordsPerBatch;
  const concurrency = (invocationsPerSecond * batchDurationMs) / 1000;
  const pollers = Math.max(
    1,
    ceilDiv(ingressMBps, q.pollerMBps.value),
    ceilDiv(concurrency, q.pollerConcurrency.value),
  );
  const brokers = Math.max(
    2,
    2 * ceilDiv((partitions * a.replicationFactor.value) / q.brokerPartitions.value, 2),
  );

  // Keyspaces, per second. A batch of one partition: checkpoint read, claim and commit LWTs, a ledger row.
  const batchesPerSecond = invocationsPerSecond;
  const rowWru = ceilDiv(input.recordBytes + a.rowOverheadBytes.value, 1024 * q.keyspacesWriteKb.value);
  const checkpointWru = batchesPerSecond * 2;
  const sentReceived = {
    wru: input.rate * rowWru + checkpointWru + batchesPerSecond,
    rru: batchesPerSecond,
    checkpointWru,
  };
  // sensor-stats: a partial per key and window a batch touches; a batch of W seconds crosses a window edge with
  // probability W / window.
  const windowsPerBatch = 1 + input.windowSeconds / input.statsWindowSeconds;
  const partialsPerSecond = batchesPerSecond * Math.min(input.keys, recordsPerBatch) * windowsPerBatch;
  const sensorStats = {
    wru: partialsPerSecond + checkpointWru + batchesPerSecond,
    rru: partialsPerSecond + batchesPerSecond,
    partialsPerSecond,
  };

  const day = 86_400;
  const costPerDayUsd = {
    lambda:
      concurrency * (input.memoryMb / 1024) * day * q.lambdaGbSecondUsd.value +
      invocationsPerSecond * day * q.lambdaRequestUsd.value,
    keyspaces:
      sentReceived.wru * day * q.keyspacesWruUsd.value + sentReceived.rru * day * q.keyspacesRruUsd.value,
  };

  const use = (name: string, demand: number, quota: Quota): LimitUse => ({
    name,
    demand,
    limit: quota.value,
    used: demand / quota.value,
    source: quota.source,
  });
  const limits: LimitUse[] = [
    {
      name: 'records per partition a second (full batches back to back)',
      demand: perPartition,
      limit: partitionCapacity,
      used: perPartition / partitionCapacity,
      source: `${q.lambdaBatchSize.source} ${q.lambdaMbPerVcpu.source}`,
    },
    use('Lambda concurrency', concurrency, q.lambdaConcurrency),
    use('provisioned event pollers', pollers, q.maxPollers),
    use('MSK Serverless ingress, MBps', ingressMBps, q.serverlessIngressMBps),
    use(
      'MSK Serverless ingress per partition, MBps',
      ingressMBps / partitions,
      q.serverlessPartitionIngressMBps,
    ),
    use('MSK Serverless partitions', partitions, q.serverlessPartitions),
    use('MSK brokers per cluster (provisioned)', brokers, q.brokersPerCluster),
    use('Keyspaces WRU/s of the sink table (sent_received)', input.rate * rowWru, q.keyspacesTableWru),
    use('Keyspaces WRU/s of offset_checkpoints', checkpointWru, q.keyspacesTableWru),
    use('Keyspaces WRU/s of sensor_stats (partials)', partialsPerSecond, q.keyspacesTableWru),
    use('Keyspaces RRU/s of sensor_stats (partials)', partialsPerSecond, q.keyspacesTableRru),
  ];
  const bindsFirst = limits.reduce((a, b) => (b.used > a.used ? b : a));
  return {
    input,
    ingressMBps,
    partitions,
    partitionCapacity,
    recordsPerBatch,
    batchDurationMs,
    invocationsPerSecond,
    concurrency,
    pollers,
    provisionedPollersNeeded: pollers > 1,
    brokers,
    sentReceived,
    sensorStats,
    costPerDayUsd,
    limits,
    bindsFirst,
  };
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const n1 = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 1 });
const n2 = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 });
const value = (x: number) => (x < 1 ? String(Number(x.toPrecision(6))) : n1(x));
const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;

/** The plan as the CLI prints it. */
export function renderPlan(p: Plan, cpuSource: string): string {
  const i = p.input;
  const lines = [
    `Plan for ${n0(i.rate)} records/s of ${n0(i.recordBytes)} B (${n2(p.ingressMBps)} MB/s), window ${i.windowSeconds} s, ` +
      `${p.partitions} partitions${i.partitions ? '' : ' (chosen)'}`,
    '',
    'MSK',
    `  partitions           ${p.partitions}: ${n1(i.rate / p.partitions)} records/s and ${n2(p.ingressMBps / p.partitions)} MB/s each`,
    `  provisioned brokers  ${p.brokers} (kafka.m5.large, replication ${ASSUMPTIONS.replicationFactor.value}, by partitions; size throughput with the MSK sizing spreadsheet)`,
    `  serverless           ${p.ingressMBps <= QUOTAS.serverlessIngressMBps.value ? 'fits' : 'does not fit'}: ${n2(p.ingressMBps)} of 200 MBps, ${n2(p.ingressMBps / p.partitions)} of 5 MBps per partition`,
    '',
    'Lambda (consumer)',
    `  batch                ${n0(p.recordsPerBatch)} records per partition, ${n0(p.batchDurationMs)} ms each at ${i.memoryMb} MB (CPU ${n1(i.cpuMicrosPerRecord)} µs/record, ${cpuSource})`,
    `  partition capacity   ${n0(p.partitionCapacity)} records/s with full batches back to back`,
    `  invocations          ${n1(p.invocationsPerSecond)}/s, concurrency ${n1(p.concurrency)}`,
    `  event pollers        ${p.pollers} (5 MB/s and 5 invocations each)${p.provisionedPollersNeeded ? `: set provisionedPollers.minimumPollers = ${p.pollers}; on-demand mode documents no throughput` : ': on-demand pollers suffice'}`,
    `  cost                 $${n2(p.costPerDayUsd.lambda)}/day (arm64, us-east-1)`,
    '',
    'Keyspaces (on-demand)',
    `  sent-received        ${n0(p.sentReceived.wru)} WRU/s (rows, + ${n0(p.sentReceived.checkpointWru)} claim/commit LWTs, + ledger), ${n0(p.sentReceived.rru)} RRU/s (checkpoint reads)`,
    `  sensor-stats         ${n0(p.sensorStats.wru)} WRU/s and ${n0(p.sensorStats.rru)} RRU/s (${n0(p.sensorStats.partialsPerSecond)} partials/s of ${i.keys} keys: a read and an LWT each)`,
    `  cost (sent-received) $${n2(p.costPerDayUsd.keyspaces)}/day (us-east-1)`,
    '',
    `Binds first: ${p.bindsFirst.name}, ${pct(p.bindsFirst.used)} (${n1(p.bindsFirst.demand)} of ${n1(p.bindsFirst.limit)}) ${p.bindsFirst.source}`,
    '',
    'Limits at this load',
    ...[...p.limits]
      .sort((a, b) => b.used - a.used)
      .map((l) => `  ${pct(l.used).padStart(6)}  ${l.name}: ${n1(l.demand)} of ${n1(l.limit)}`),
    '',
    'Sources',
    ...Object.values(QUOTAS).map((s) => `  ${s.what}: ${value(s.value)}  ${s.source}`),
    'Assumptions (no AWS quota)',
    ...Object.values(ASSUMPTIONS).map((s) => `  ${s.what}: ${value(s.value)}  ${s.source}`),
  ];
  return lines.join('\n');
}

/**
 * The per-record CPU the bench committed to bench/README.md: the consumer's bundle in a Lambda-sized process at
 * the consumers' default memory (2026-11-30, on the slower of the two hosts there). A host three times as fast
 * measured 4.8 µs at 21:01; the slower figure stays, because a Lambda vCPU is neither host, and a plan that
 * assumes the faster one would promise throughput a slower CPU cannot give.
 */
export const COMMITTED_BENCH_CPU = {
  micros: 18.1,
  source:
    'bench/README.md, 2026-11-30, the handler in a 1024 MB Lambda-sized process (no bench/results/*.json here)',
};

/**
 * The consumer's CPU per record at `memoryMb`, from the newest full (not smoke) `bench/results/bench-*.json`: the
 * handler's bundle measured in a Lambda-sized process of that memory size (the runtime's heap flags, one core)
 * when the run measured that size, else the pipeline phase's (the local runner and the handler in one process).
 * Without results, the committed number of bench/README.md.
 */
export function benchCpuPerRecord(
  resultsDir: string,
  memoryMb = CONSUMER_MEMORY_MB,
): { micros: number; source: string } {
  if (!existsSync(resultsDir)) return COMMITTED_BENCH_CPU;
  const files = readdirSync(resultsDir)
    .filter((f) => /^bench-.*\.json$/.test(f) && !f.includes('-smoke'))
    .sort()
    .reverse();
  for (const file of files) {
    try {
      const report = JSON.parse(readFileSync(join(resultsDir, file), 'utf8')) as {
        pipeline?: { cpuMicrosPerRecord?: { bench?: unknown } } | null;
        lambdaSized?: {
          variants?: Array<{ memoryMb?: unknown; cpuMicrosPerRecord?: unknown; rounds?: unknown }>;
          runs?: Array<{ memoryMb?: unknown; cpuMicrosPerRecord?: unknown }>;
        } | null;
      };
      // The median over the rounds; reports from before the rounds have one run per size.
      const variant = report.lambdaSized?.variants?.find((v) => v.memoryMb === memoryMb);
      const sized = variant ?? report.lambdaSized?.runs?.find((r) => r.memoryMb === memoryMb);
      if (typeof sized?.cpuMicrosPerRecord === 'number' && sized.cpuMicrosPerRecord > 0) {
        const rounds =
          typeof variant?.rounds === 'number' && variant.rounds > 1
            ? `, median of ${variant.rounds} runs`
            : '';
        return {
          micros: sized.cpuMicrosPerRecord,
          source: `bench/results/${file}, the handler in a ${memoryMb} MB Lambda-sized process${rounds}`,
        };
      }
      const micros = report.pipeline?.cpuMicrosPerRecord?.bench;
      if (typeof micros === 'number' && micros > 0) return { micros, source: `bench/results/${file}` };
    } catch {
      // A half-written or foreign file: try the next one.
    }
  }
  return COMMITTED_BENCH_CPU;
}

/**
 * The `plan` command: parses the CLI's string options, prints the plan, returns the exit code (2 for bad input,
 * with the message).
 */
export function runPlanCommand(
  values: Record<string, unknown>,
  resultsDir: string,
  out: (line: string) => void = (l) => console.log(l),
  err: (line: string) => void = (l) => console.error(l),
): number {
  const num = (name: string, required: boolean): number | undefined => {
    const v = values[name];
    if (v === undefined) {
      if (required) throw new PlanInputError(`--${name} is required.`);
      return undefined;
    }
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw new PlanInputError(`--${name} must be a number, received '${String(v)}'.`);
    return n;
  };
  try {
    const memoryMb = values['memory'] !== undefined ? num('memory', false)! : undefined;
    const cpu = benchCpuPerRecord(resultsDir, memoryMb);
    const p = plan({
      rate: num('rate', true)!,
      recordBytes: num('record-bytes', true)!,
      cpuMicrosPerRecord: cpu.micros,
      ...(memoryMb !== undefined ? { memoryMb } : {}),
      ...(values['window'] !== undefined ? { windowSeconds: num('window', false)! } : {}),
      ...(values['partitions'] !== undefined ? { partitions: num('partitions', false)! } : {}),
      ...(values['keys'] !== undefined ? { keys: num('keys', false)! } : {}),
    });
    out(renderPlan(p, cpu.source));
    return 0;
  } catch (error) {
    if (!(error instanceof PlanInputError)) throw error;
    err(
      `${error.message}\n\nUsage: microbatch plan --rate <records/s> --record-bytes <n> [--window <s>] [--partitions <n>] [--keys <n>] [--memory <MB>]`,
    );
    return 2;
  }
}
