/**
 * The consumer's handler in a Lambda-sized process: the bundle `cdk deploy` uploads, in a fresh `node` started
 * with the V8 heap flags the Lambda Node.js runtime gives a function of each memory size, on one core, invoked
 * with micro-batches against the real local Cassandra. What it answers (issue 12): how much CPU per record the
 * handler costs at the sizes a user deploys, and how much of it is garbage collection.
 *
 * The runtime's bootstrap (`/var/runtime/bootstrap` of the managed Node.js runtimes) starts node with
 * `--max-semi-space-size=<memory/10/2> --max-old-space-size=<memory - memory/10>` on its command line, and
 * command-line flags win over `NODE_OPTIONS`: a function cannot set its semi-space through `NODE_OPTIONS`, only
 * through its memory size (or an `AWS_LAMBDA_EXEC_WRAPPER` script). V8 rounds a semi-space up to a power of two.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-modify.html#runtime-wrapper
 *
 * Not modelled: the CPU share below 1,769 MB (a 512 MB function gets about 0.29 of a vCPU). CPU time per record
 * hardly depends on it; the wall time does, and is reported for one whole core.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { RUNTIME_ENV } from '../config/env';
import type { LambdaChildArgs, LambdaChildResult } from './lambda-child';
import { median, round1 } from './stats';

/** The heap flags the Lambda Node.js runtime's bootstrap derives from the function's memory size. */
export function lambdaHeapFlags(memoryMb: number): { semiSpaceMb: number; oldSpaceMb: number } {
  const newSpace = Math.floor(memoryMb / 10);
  return { semiSpaceMb: Math.floor(newSpace / 2), oldSpaceMb: memoryMb - newSpace };
}

export interface LambdaSizedVariant {
  readonly label: string;
  /** The function's memory size; null for the pipeline phase's flags. */
  readonly memoryMb: number | null;
  /** null: V8's default for the machine. */
  readonly semiSpaceMb: number | null;
  /** null: V8's default for the machine. */
  readonly oldSpaceMb: number | null;
}

/** The `--max-semi-space-size` this process runs with (`npm run bench` sets it as `npm run local` does), if any. */
export function ownSemiSpaceMb(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): number | null {
  // Command-line flags win over NODE_OPTIONS, as node applies them.
  for (const arg of [...execArgv].reverse().concat(nodeOptions.split(/\s+/).reverse())) {
    const m = /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(arg);
    if (m) return Number(m[1]);
  }
  return null;
}

/** Each memory size with the runtime's flags, and the pipeline phase's flags beside them. */
export function lambdaVariants(
  memorySizes: readonly number[],
  ownSemiSpace: number | null,
): LambdaSizedVariant[] {
  return [
    ...memorySizes.map((memoryMb) => ({ label: `${memoryMb} MB`, memoryMb, ...lambdaHeapFlags(memoryMb) })),
    { label: 'pipeline phase flags', memoryMb: null, semiSpaceMb: ownSemiSpace, oldSpaceMb: null },
  ];
}

export interface LambdaSizedRun extends LambdaSizedVariant {
  /** The round it ran in: each round runs every variant once, in an order that rotates from round to round. */
  readonly round: number;
  readonly records: number;
  readonly invocations: number;
  /** Median over the measured invocations of the process's CPU (all threads) per record, µs. */
  readonly cpuMicrosPerRecord: number;
  /** Garbage-collection pauses (main thread) per record, µs, over the measured invocations. */
  readonly gcMicrosPerRecord: number;
  readonly minorGcs: number;
  readonly majorGcs: number;
  /** Median wall time of an invocation on one whole core, ms. */
  readonly invocationMs: number;
  readonly maxRssMb: number;
  readonly heapLimitMb: number;
  /** Records the run's checkpoints say were processed, warm-up included (read back from Cassandra). */
  readonly checkpointed: number;
  /** Records the run sent, warm-up included. */
  readonly sent: number;
}

/** A variant over its rounds: medians, and the spread that says how far one run can be trusted. */
export interface LambdaSizedSummary extends LambdaSizedVariant {
  readonly rounds: number;
  /** Median over the rounds of each run's CPU per record (itself its invocations' median), µs. */
  readonly cpuMicrosPerRecord: number;
  /** The lowest and highest run. */
  readonly cpuMicrosPerRecordRange: readonly [number, number];
  /** Medians over the rounds. */
  readonly gcMicrosPerRecord: number;
  readonly majorGcs: number;
  readonly invocationMs: number;
  /** Rounds in which this variant cost less CPU per record than the first variant of the same round. */
  readonly lowerThanFirst: number;
  readonly heapLimitMb: number;
  readonly maxRssMb: number;
  /** Over all rounds: records checkpointed and sent. */
  readonly checkpointed: number;
  readonly sent: number;
}

export interface LambdaSizedResult {
  readonly bundle: string;
  readonly pinnedToOneCore: boolean;
  /** Every run, in the order they ran. */
  readonly runs: readonly LambdaSizedRun[];
  /** Per variant, in the variants' order: its runs summarised. What the report and `microbatch plan` read. */
  readonly variants: readonly LambdaSizedSummary[];
}

/**
 * The variants of each round in turn, starting one further each round (round 1 of [a, b, c] runs b, c, a): runs
 * of the same variant are spread over the phase, so a slow minute of the machine (its speed moves by a quarter
 * between runs: bench/README.md) does not land on one variant, and no variant always runs first or last.
 */
export function roundOrder<T>(variants: readonly T[], rounds: number): Array<{ round: number; variant: T }> {
  const order: Array<{ round: number; variant: T }> = [];
  for (let round = 0; round < rounds; round++)
    for (let k = 0; k < variants.length; k++)
      order.push({ round, variant: variants[(round + k) % variants.length]! });
  return order;
}

/** Each variant's runs over the rounds, summarised (see `LambdaSizedSummary`). */
export function summariseVariants(
  variants: readonly LambdaSizedVariant[],
  runs: readonly LambdaSizedRun[],
): LambdaSizedSummary[] {
  const first = variants[0];
  return variants.map((variant) => {
    const own = runs.filter((r) => r.label === variant.label);
    const cpu = own.map((r) => r.cpuMicrosPerRecord);
    const lowerThanFirst = own.filter((r) => {
      const rival = runs.find((f) => f.round === r.round && f.label === first?.label);
      return rival !== undefined && r.cpuMicrosPerRecord < rival.cpuMicrosPerRecord;
    }).length;
    return {
      ...variant,
      rounds: own.length,
      cpuMicrosPerRecord: round1(median(cpu)),
      cpuMicrosPerRecordRange: [Math.min(...cpu), Math.max(...cpu)] as const,
      gcMicrosPerRecord: round1(median(own.map((r) => r.gcMicrosPerRecord))),
      majorGcs: median(own.map((r) => r.majorGcs)),
      invocationMs: Math.round(median(own.map((r) => r.invocationMs))),
      lowerThanFirst,
      heapLimitMb: Math.max(...own.map((r) => r.heapLimitMb)),
      maxRssMb: Math.max(...own.map((r) => r.maxRssMb)),
      checkpointed: own.reduce((n, r) => n + r.checkpointed, 0),
      sent: own.reduce((n, r) => n + r.sent, 0),
    };
  });
}

/** A run's measured invocations, summarised. */
export function summariseRun(
  variant: LambdaSizedVariant,
  round: number,
  child: LambdaChildResult,
  check: { readonly checkpointed: number; readonly sent: number },
): LambdaSizedRun {
  const measured = child.invocations.length * child.records;
  return {
    ...variant,
    round,
    records: child.records,
    invocations: child.invocations.length,
    cpuMicrosPerRecord: round1(median(child.invocations.map((i) => i.cpuMicros / child.records))),
    gcMicrosPerRecord: round1((child.gcMs * 1000) / Math.max(1, measured)),
    minorGcs: child.minorGcs,
    majorGcs: child.majorGcs,
    invocationMs: Math.round(median(child.invocations.map((i) => i.ms))),
    maxRssMb: child.maxRssMb,
    heapLimitMb: child.heapLimitMb,
    ...check,
  };
}

export async function measureLambdaSized(options: {
  readonly root: string;
  readonly bundle: string;
  readonly handlerName: string;
  /** The function's environment as the stack sets it (config/consumer-env.ts); pointed at the local Cassandra. */
  readonly environment: Readonly<Record<string, string>>;
  readonly contactPoints: readonly string[];
  readonly localDataCenter: string;
  readonly variants: readonly LambdaSizedVariant[];
  /** Rounds of every variant (see `roundOrder`). */
  readonly rounds: number;
  /** The node binary of the runs. @default - this process's */
  readonly node?: string;
  readonly partitions: number;
  readonly records: number;
  readonly invocations: number;
  readonly warmup: number;
  readonly payloadBytes: number;
  /** The next offset the job's checkpoint holds for a partition (null: none), to check the handler's work. */
  readonly readCheckpoint: (topic: string, partition: number) => Promise<bigint | null>;
  readonly onProgress?: (done: number, detail: string) => void;
}): Promise<LambdaSizedResult> {
  const taskset = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));
  const core = String(os.cpus().length - 1);
  const dir = mkdtempSync(join(os.tmpdir(), 'microbatch-lambda-sized-'));
  const runs: LambdaSizedRun[] = [];
  try {
    for (const [n, { round, variant }] of roundOrder(options.variants, options.rounds).entries()) {
      options.onProgress?.(n, `${variant.label}, round ${round + 1} of ${options.rounds}`);
      const functionName = `bench-${options.handlerName}`;
      const args: LambdaChildArgs = {
        bundle: options.bundle,
        functionName,
        resultFile: join(dir, `${n}.json`),
        // The job's own topic; partitions no other phase or run uses, so each run starts from no checkpoint.
        topic: 'test',
        partitions: Array.from({ length: options.partitions }, (_, p) => 1000 + n * 100 + p),
        records: options.records,
        invocations: options.invocations,
        warmup: options.warmup,
        payloadBytes: options.payloadBytes,
        memoryMb: variant.memoryMb,
      };
      // The flags the runtime puts on node's command line; the last variant has this process's.
      const node = [
        options.node ?? process.execPath,
        '--expose-gc',
        ...(variant.semiSpaceMb === null ? [] : [`--max-semi-space-size=${variant.semiSpaceMb}`]),
        ...(variant.oldSpaceMb === null ? [] : [`--max-old-space-size=${variant.oldSpaceMb}`]),
        '--import',
        'tsx',
        join(options.root, 'bench', 'lambda-child.ts'),
        JSON.stringify(args),
      ];
      const [command, ...rest] = taskset ? [taskset, '-c', core, ...node] : node;
      const r = spawnSync(command!, rest, {
        cwd: options.root,
        encoding: 'utf8',
        timeout: 600_000,
        maxBuffer: 256 * 1024 * 1024,
        // A clean environment, as Lambda's: none of this process's NODE_OPTIONS.
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: 'us-east-1',
          AWS_LAMBDA_FUNCTION_NAME: functionName,
          ...(variant.memoryMb === null ? {} : { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(variant.memoryMb) }),
          ...options.environment,
          [RUNTIME_ENV.target]: 'local',
          CASSANDRA_CONTACT_POINTS: options.contactPoints.join(','),
          CASSANDRA_LOCAL_DC: options.localDataCenter,
        },
      });
      if (r.status !== 0)
        throw new Error(
          `The Lambda-sized run '${variant.label}' failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').slice(-3000)}`,
        );
      const child = JSON.parse(readFileSync(args.resultFile, 'utf8')) as LambdaChildResult;
      let checkpointed = 0n;
      for (const partition of args.partitions)
        checkpointed += (await options.readCheckpoint(args.topic, partition)) ?? 0n;
      const sent = (args.warmup + args.invocations) * args.records;
      runs.push(summariseRun(variant, round, child, { checkpointed: Number(checkpointed), sent }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    bundle: options.handlerName,
    pinnedToOneCore: taskset !== undefined,
    runs,
    variants: summariseVariants(options.variants, runs),
  };
}
