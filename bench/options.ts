/** The benchmark's command line: `npm run bench -- [options]`. */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { FIXED_LATENCY } from './report';

export const PHASES = ['cassandra', 'kafka', 'runner', 'pipeline', 'latency', 'restart', 'handlers'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  readonly smoke: boolean;
  /** Records produced for the throughput phases (M). */
  readonly count: number;
  readonly payloadBytes: number;
  readonly partitions: number;
  /** The event source's batch size and window; `undefined` takes the pipeline's config (cdk.json). */
  readonly batchSize: number | undefined;
  readonly windowSeconds: number | undefined;
  /** The sink's write concurrency; `undefined` keeps the pipeline's default. */
  readonly writeConcurrency: number | undefined;
  /** The sink's rows per unlogged batch; `undefined` keeps the pipeline's default. */
  readonly batchStatements: number | undefined;
  /** The runner's pollers; `undefined` keeps its default. */
  readonly pollers: number | undefined;
  /** Requests in flight of the ceiling's `single` method, and of its `unlogged batch` method. */
  readonly ceilingLevels: readonly number[];
  readonly ceilingBatchLevels: readonly number[];
  readonly ceilingBatchRows: number;
  readonly ceilingWritesPerLevel: number;
  /** Cassandra's warm-up before the ceiling: at least `min` s, until its JIT settles, at most `max` s. */
  readonly warmupSeconds: { readonly min: number; readonly max: number };
  readonly latencySeconds: number;
  readonly latencyWarmupSeconds: number;
  /** The `half` latency phase's rate; `undefined` is half the pipeline's measured throughput. */
  readonly latencyRate: number | undefined;
  /** An upper bound on the latency phases' rates (the smoke run keeps them to a few thousand records). */
  readonly latencyMaxRate: number;
  /** The `fixed` latency phase: the target's rate and window (smaller in smoke). */
  readonly fixedLatency: { readonly rate: number; readonly windowSeconds: number };
  /** The restart phase: static membership (the runner's default) or a dynamic member, and its session. */
  readonly restartStatic: boolean;
  readonly restartSessionMs: number | undefined;
  readonly importRuns: number;
  readonly outDir: string;
  readonly progress: boolean;
  readonly runnerModule: string | undefined;
  /** Write a CPU profile of the pipeline phase next to the report. */
  readonly cpuProfile: boolean;
  readonly skip: readonly Phase[];
}

export const USAGE = `npm run bench -- [options]

Measures, on the local Kafka and Cassandra (started if needed, never stopped):
the Cassandra ceiling by client method, the Kafka ceiling, the pipeline's throughput and its
ratio to both with the CPU per record of each process, the latency and processing delay at
2,000/s with a 5 s window and at half the pipeline's throughput, the restart after a SIGKILL,
and the handlers' bundle sizes (by dependency) and cold import times.
Writes bench/results/<time>.json and .svg.

  --smoke                  a few thousand records, short phases (what npm test runs)
  --count N                records for the throughput phases (default 200000; smoke 3000)
  --payload-bytes N        value size in bytes (default 100)
  --partitions N           partitions of the bench topics (default 3, as topic 'test')
  --batch-size N           event source batch size (default: the pipeline config, 10000)
  --window S               batching window in seconds (default: the pipeline config, 5; smoke 1)
  --write-concurrency N    the sink's requests in flight per partition (default: the sink's default)
  --batch-statements N     the sink's rows per unlogged batch, 1 to 30 (default: the sink's default, 30)
  --pollers N              the runner's pollers, batches in flight (default: the runner's, one per partition)
  --levels A,B,...         Cassandra ceiling, single rows: requests in flight (default 16,32,64,128)
  --batch-levels A,B,...   Cassandra ceiling, unlogged batches: batches in flight (default 2,4,8,16,32)
  --batch-rows N           rows per unlogged batch of the ceiling (default 30, Keyspaces' quota)
  --ceiling-writes N       rows per ceiling level (default min(count, 100000); smoke 2000)
  --warmup MIN,MAX         Cassandra's warm-up before the ceiling, until its JIT settles (default 20,150;
                           smoke 1,3)
  --latency-seconds S      each latency phase's measured interval (default 30; smoke 4), after a 3 s
                           warm-up (none in smoke) and before a cool-down of one window + 2 s
  --latency-rate N         records/s of the second latency phase (default: half the pipeline's throughput);
                           the first runs at 2,000/s with a 5 s window (smoke: 500/s, 1 s)
  --restart-dynamic        the restart phase with a dynamic member instead of the runner's static membership
  --restart-session MS     the restart phase's session timeout (default: the runner's)
  --import-runs N          fresh processes per handler for the cold import time (default 9; smoke 3)
  --runner MODULE          an alternative EventSourceRunner module, to measure a change to local/runner.ts
  --cpu-profile            write a V8 CPU profile of the pipeline phase (.cpuprofile) next to the report
  --skip P,...             skip phases: ${PHASES.join(', ')}
  --out DIR                where the JSON and the chart go (default bench/results)
  --no-progress            no progress bar
  -h, --help`;

function int(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be an integer of at least ${min}, received '${raw}'.`);
  return n;
}

function optionalInt(name: string, raw: string | undefined, min = 1): number | undefined {
  return raw === undefined ? undefined : int(name, raw, 0, min);
}

export function parseOptions(argv: readonly string[], root: string): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      smoke: { type: 'boolean', default: false },
      count: { type: 'string' },
      'payload-bytes': { type: 'string' },
      partitions: { type: 'string' },
      'batch-size': { type: 'string' },
      window: { type: 'string' },
      'write-concurrency': { type: 'string' },
      'batch-statements': { type: 'string' },
      pollers: { type: 'string' },
      levels: { type: 'string' },
      'batch-levels': { type: 'string' },
      'batch-rows': { type: 'string' },
      warmup: { type: 'string' },
      'restart-dynamic': { type: 'boolean', default: false },
      'restart-session': { type: 'string' },
      'ceiling-writes': { type: 'string' },
      'latency-seconds': { type: 'string' },
      'latency-rate': { type: 'string' },
      'import-runs': { type: 'string' },
      runner: { type: 'string' },
      'cpu-profile': { type: 'boolean', default: false },
      skip: { type: 'string' },
      out: { type: 'string' },
      'no-progress': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const smoke = values.smoke === true;
  const count = int('count', values.count, smoke ? 3000 : 200_000);
  const list = (name: string, raw: string | undefined, fallback: string, min = 1): number[] =>
    (raw ?? fallback)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => int(name, s, 0, min));
  const levels = list('levels', values.levels, smoke ? '32,64' : '16,32,64,128');
  const batchLevels = list('batch-levels', values['batch-levels'], smoke ? '4,8' : '2,4,8,16,32');
  const warmup = list('warmup', values.warmup, smoke ? '1,3' : '20,150', 0);
  if (warmup.length !== 2 || warmup[0]! > warmup[1]!)
    throw new Error(`--warmup takes MIN,MAX seconds with MIN <= MAX, received '${values.warmup}'.`);
  const skip = (values.skip ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      if (!(PHASES as readonly string[]).includes(s))
        throw new Error(`--skip: unknown phase '${s}'; phases: ${PHASES.join(', ')}.`);
      return s as Phase;
    });
  return {
    smoke,
    count,
    payloadBytes: int('payload-bytes', values['payload-bytes'], 100, 0),
    partitions: int('partitions', values.partitions, 3),
    batchSize: optionalInt('batch-size', values['batch-size']),
    windowSeconds: values.window === undefined ? (smoke ? 1 : undefined) : int('window', values.window, 0, 0),
    writeConcurrency: optionalInt('write-concurrency', values['write-concurrency']),
    batchStatements: optionalInt('batch-statements', values['batch-statements']),
    pollers: optionalInt('pollers', values.pollers),
    ceilingLevels: levels,
    ceilingBatchLevels: batchLevels,
    ceilingBatchRows: int('batch-rows', values['batch-rows'], 30),
    warmupSeconds: { min: warmup[0]!, max: warmup[1]! },
    ceilingWritesPerLevel: int(
      'ceiling-writes',
      values['ceiling-writes'],
      smoke ? 2000 : Math.min(count, 100_000),
    ),
    latencySeconds: int('latency-seconds', values['latency-seconds'], smoke ? 4 : 30),
    latencyWarmupSeconds: smoke ? 0 : 3,
    latencyRate: optionalInt('latency-rate', values['latency-rate']),
    latencyMaxRate: smoke ? 750 : Number.MAX_SAFE_INTEGER,
    fixedLatency: smoke ? { rate: 500, windowSeconds: 1 } : FIXED_LATENCY,
    restartStatic: values['restart-dynamic'] !== true,
    restartSessionMs: optionalInt('restart-session', values['restart-session']),
    importRuns: int('import-runs', values['import-runs'], smoke ? 3 : 9),
    outDir: values.out ?? join(root, 'bench', 'results'),
    progress: values['no-progress'] !== true,
    runnerModule: values.runner,
    cpuProfile: values['cpu-profile'] === true,
    skip,
  };
}
