/**
 * The Cassandra ceiling: the best rate at which any client method puts the pipeline's rows into Cassandra on this
 * machine, through the same driver and client options the pipeline uses, into a twin of its table (same columns,
 * key and statement: a prepared, idempotent `INSERT` with no client timestamp, at LOCAL_QUORUM). Two methods, each
 * at a few concurrency levels:
 * - `single`: one row per request;
 * - `unlogged batch`: up to 30 rows per request (Keyspaces' quota for an unlogged batch), grouped by token. Every
 *   row has its own partition here (the key is the send time), and on the local single node every token has the
 *   same replica, so any 30 rows make a batch that one replica applies.
 * If the pipeline can use a method, so can the ceiling: the best level of either method is the ceiling, and its
 * CPU per row is what the pipeline's CPU per record is compared with.
 *
 * One run of a level can be lucky: a run that happens to see no memtable flush or compaction has measured
 * 28 µs of Cassandra CPU per row where the same level measured 46 µs a minute later (bench/README.md, 2026-11-30).
 * So each method's best level is run again (`repeats` runs in all, interleaved across methods), and the run
 * with the median rate stands for the method: the ceiling is what the level does, not its best moment.
 */
import type { Client } from 'cassandra-driver';
import { renderInsert } from '../schema';
import { SendClock } from '../local/producer';
import { CEILING_TABLE } from './fixtures';
import type { CpuSampler, CpuUse } from './machine';

export type CeilingMethod = 'single' | 'unlogged batch';

export interface CeilingLevel {
  readonly method: CeilingMethod;
  /** Rows per request (1 for `single`). */
  readonly rowsPerRequest: number;
  /** Requests in flight. */
  readonly concurrency: number;
  /** 1 for the sweep; 2 and up for the repeats of a method's best level. */
  readonly run: number;
  readonly writes: number;
  readonly seconds: number;
  readonly rate: number;
  readonly cpu: CpuUse;
  /** CPU µs per row, per process (`bench` is the client). */
  readonly cpuMicrosPerRecord: Readonly<Record<string, number>>;
}

export interface CeilingWarmup {
  readonly seconds: number;
  readonly writes: number;
  /** Cores Cassandra's JIT compiler threads used over the last slice of the warm-up (null: not measurable). */
  readonly jitCoresAtEnd: number | null;
}

export interface CassandraCeiling {
  readonly table: string;
  readonly warmup: CeilingWarmup;
  /** Every run: the sweep, then the repeats. */
  readonly levels: readonly CeilingLevel[];
  /** Each method's best level, as the run with the median rate of its runs. */
  readonly byMethod: Readonly<Partial<Record<CeilingMethod, CeilingLevel>>>;
  /** The best of `byMethod`: the ceiling. */
  readonly best: CeilingLevel;
}

export interface CeilingOptions {
  /** Requests in flight for `single`. */
  readonly singleLevels: readonly number[];
  /** Requests in flight for `unlogged batch` (0 levels: the method is not measured). */
  readonly batchLevels: readonly number[];
  readonly batchRows: number;
  readonly writesPerLevel: number;
  /**
   * Runs of each method's best level, the sweep's included; the median run stands for the method.
   * @default 1 - the sweep's run alone
   */
  readonly repeats?: number;
  /** The warm-up: at least `min` seconds, until the JIT settles, at most `max` seconds. */
  readonly warmupSeconds: { readonly min: number; readonly max: number };
  /** A sampler of the processes' CPU, started now. */
  readonly sampleCpu: () => CpuSampler;
  /** Cores Cassandra's JIT compiler threads used since the last call (undefined: not measurable). */
  readonly jitCores?: () => number | undefined;
  readonly onProgress?: (done: number, detail: string) => void;
  /**
   * Waits until Cassandra has no flush or compaction left (bench/fixtures.ts `settleCassandra`), before each level:
   * every level then starts as the pipeline does, instead of paying for the previous levels' compactions.
   * @default - levels run back to back
   */
  readonly settle?: () => Promise<unknown>;
}

/** The sweep's best level of a method: its concurrency (undefined when the method was not measured). */
export function bestConcurrency(levels: readonly CeilingLevel[], method: CeilingMethod): number | undefined {
  let best: CeilingLevel | undefined;
  for (const l of levels) if (l.method === method && l.run === 1 && (!best || l.rate > best.rate)) best = l;
  return best?.concurrency;
}

/** The run with the median rate (of an even count, the lower of the middle two: the ceiling never rounds up). */
export function medianRun(runs: readonly CeilingLevel[]): CeilingLevel {
  if (!runs.length) throw new Error('medianRun needs at least one run.');
  const sorted = [...runs].sort((a, b) => a.rate - b.rate);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/**
 * CPU µs per record, per process: cores × seconds / records. To 0.01 µs: the targets compare these values, and at
 * the client's 4.2 µs a tenth is 2%, enough to turn a 1.3x factor of 1.29 into 1.32.
 */
export function cpuPerRecord(cpu: CpuUse, records: number): Record<string, number> {
  const out: Record<string, number> = {};
  const entries: Array<[string, number]> = [...Object.entries(cpu.byProcess), ['machine', cpu.machine]];
  for (const [name, cores] of entries)
    out[name] = Math.round(((cores * cpu.seconds) / Math.max(1, records)) * 1e6 * 100) / 100;
  return out;
}

export async function cassandraCeiling(
  client: Client,
  keyspace: string,
  options: CeilingOptions,
): Promise<CassandraCeiling> {
  const cql = renderInsert(keyspace, CEILING_TABLE);
  const clock = new SendClock();
  let done = 0;
  // The pipeline's row: a unique send time and the receive time, written as the sink writes it.
  const row = (): unknown[] => [clock.now(), new Date().toISOString()];

  const run = async (
    method: CeilingMethod,
    concurrency: number,
    writes: number,
    until?: number,
  ): Promise<{ seconds: number; writes: number }> => {
    const per = method === 'single' ? 1 : options.batchRows;
    let issued = 0;
    let written = 0;
    const started = performance.now();
    const lane = async (): Promise<void> => {
      while (issued < writes && (until === undefined || performance.now() < until)) {
        const n = Math.min(per, writes - issued);
        issued += n;
        if (method === 'single') {
          await client.execute(cql, row(), { isIdempotent: true });
        } else {
          const queries = Array.from({ length: n }, () => ({ query: cql, params: row() }));
          await client.batch(queries, { prepare: true, logged: false, isIdempotent: true });
        }
        written += n;
        done += n;
      }
    };
    const lanes = Math.max(1, Math.min(concurrency, Math.ceil(writes / per)));
    await Promise.all(Array.from({ length: lanes }, lane));
    return { seconds: (performance.now() - started) / 1000, writes: written };
  };

  // Warm-up, not measured: prepares the statement, fills the pool, and lets Cassandra's JIT compile the write
  // path (a cold JVM on two shared cores takes a minute or more; measuring before it settles measures the JIT).
  const warmStarted = performance.now();
  let warmWrites = 0;
  let jit: number | undefined;
  options.jitCores?.();
  const methods: CeilingMethod[] = options.batchLevels.length ? ['single', 'unlogged batch'] : ['single'];
  for (let slice = 0; ; slice++) {
    const elapsed = (performance.now() - warmStarted) / 1000;
    if (elapsed >= options.warmupSeconds.max) break;
    if (elapsed >= options.warmupSeconds.min && (jit === undefined || jit < 0.05)) break;
    const method = methods[slice % methods.length]!;
    const r = await run(
      method,
      method === 'single' ? 64 : 8,
      Number.MAX_SAFE_INTEGER,
      performance.now() + 2000,
    );
    warmWrites += r.writes;
    jit = options.jitCores?.();
    options.onProgress?.(
      0,
      `warming up: ${Math.round(elapsed)} s, JIT ${jit === undefined ? 'n/a' : jit.toFixed(2)} cores`,
    );
  }
  const warmup: CeilingWarmup = {
    seconds: Math.round((performance.now() - warmStarted) / 100) / 10,
    writes: warmWrites,
    jitCoresAtEnd: jit === undefined ? null : Math.round(jit * 100) / 100,
  };

  const plan: Array<[CeilingMethod, number]> = [
    ...options.singleLevels.map((c): [CeilingMethod, number] => ['single', c]),
    ...options.batchLevels.map((c): [CeilingMethod, number] => ['unlogged batch', c]),
  ];
  const repeats = options.repeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new Error(`CeilingOptions repeats must be an integer of at least 1, received ${repeats}.`);
  const levels: CeilingLevel[] = [];
  if (!plan.length)
    throw new Error('The Cassandra ceiling needs at least one level: give singleLevels or batchLevels.');
  const total = plan.length + (repeats - 1) * new Set(plan.map(([method]) => method)).size;
  const ticker = setInterval(() => options.onProgress?.(done, `${levels.length}/${total} levels`), 200);
  done = 0;
  const measure = async (method: CeilingMethod, concurrency: number, runNumber: number): Promise<void> => {
    await options.settle?.();
    const cpu = options.sampleCpu();
    const r = await run(method, concurrency, options.writesPerLevel);
    const use = cpu.stop();
    levels.push({
      method,
      rowsPerRequest: method === 'single' ? 1 : options.batchRows,
      concurrency,
      run: runNumber,
      writes: r.writes,
      seconds: Math.round(r.seconds * 1000) / 1000,
      rate: Math.round(r.writes / r.seconds),
      cpu: use,
      cpuMicrosPerRecord: cpuPerRecord(use, r.writes),
    });
    options.onProgress?.(done, `${levels.length}/${total} levels`);
  };
  const byMethod: Partial<Record<CeilingMethod, CeilingLevel>> = {};
  try {
    for (const [method, concurrency] of plan) await measure(method, concurrency, 1);
    // The repeats take turns across methods, so that a slow drift of the machine falls on both alike.
    const best = methods.flatMap((method) => {
      const concurrency = bestConcurrency(levels, method);
      return concurrency === undefined ? [] : [{ method, concurrency }];
    });
    for (let runNumber = 2; runNumber <= repeats; runNumber++)
      for (const { method, concurrency } of best) await measure(method, concurrency, runNumber);
    for (const { method, concurrency } of best)
      byMethod[method] = medianRun(
        levels.filter((l) => l.method === method && l.concurrency === concurrency),
      );
  } finally {
    clearInterval(ticker);
  }
  const chosen = Object.values(byMethod).reduce((a, b) => (b.rate > a.rate ? b : a));
  return { table: CEILING_TABLE.name, warmup, levels, byMethod, best: chosen };
}
