/** The benchmark's command line: `npm run bench -- [options]`. */
import { parseArgs } from 'node:util';
import { join } from 'node:path';

export const PHASES = ['cassandra', 'kafka', 'runner', 'pipeline', 'latency', 'handlers'] as const;
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
  readonly ceilingLevels: readonly number[];
  readonly ceilingWritesPerLevel: number;
  readonly latencySeconds: number;
  readonly latencyWarmupSeconds: number;
  /** The latency phase's rate; `undefined` is half the pipeline's measured throughput. */
  readonly latencyRate: number | undefined;
  /** An upper bound on the latency phase's rate (the smoke run keeps it to a few thousand records). */
  readonly latencyMaxRate: number;
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
the Cassandra ceiling, the Kafka ceiling, the pipeline's throughput and its ratio to both,
the latency from send to row written at half the pipeline's throughput, and the handlers'
bundle sizes and cold import times. Writes bench/results/<time>.json and .svg.

  --smoke                  a few thousand records, short phases (what npm test runs)
  --count N                records for the throughput phases (default 200000; smoke 3000)
  --payload-bytes N        value size in bytes (default 100)
  --partitions N           partitions of the bench topics (default 3, as topic 'test')
  --batch-size N           event source batch size (default: the pipeline config, 10000)
  --window S               batching window in seconds (default: the pipeline config, 5; smoke 1)
  --write-concurrency N    the sink's writes in flight (default: the sink's default, 64)
  --levels A,B,...         Cassandra ceiling concurrency levels (default 16,32,64,128,256)
  --ceiling-writes N       writes per ceiling level (default min(count, 100000); smoke 2000)
  --latency-seconds S      the latency phase's measured interval (default 30; smoke 4), after a 3 s
                           warm-up (none in smoke) and before a cool-down of one window + 2 s
  --latency-rate N         records/s of the latency phase (default: half the pipeline's throughput)
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
      levels: { type: 'string' },
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
  const levels = (values.levels ?? '16,32,64,128,256').split(',').map((s) => int('levels', s.trim(), 0));
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
    ceilingLevels: levels,
    ceilingWritesPerLevel: int(
      'ceiling-writes',
      values['ceiling-writes'],
      smoke ? 2000 : Math.min(count, 100_000),
    ),
    latencySeconds: int('latency-seconds', values['latency-seconds'], smoke ? 4 : 30),
    latencyWarmupSeconds: smoke ? 0 : 3,
    latencyRate: optionalInt('latency-rate', values['latency-rate']),
    latencyMaxRate: smoke ? 750 : Number.MAX_SAFE_INTEGER,
    importRuns: int('import-runs', values['import-runs'], smoke ? 3 : 9),
    outDir: values.out ?? join(root, 'bench', 'results'),
    progress: values['no-progress'] !== true,
    runnerModule: values.runner,
    cpuProfile: values['cpu-profile'] === true,
    skip,
  };
}
