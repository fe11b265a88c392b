/**
 * The Cassandra ceiling: raw prepared INSERTs into a twin of the pipeline's table (same columns and key, the
 * same statement), through the same driver and client options the pipeline uses, at a few concurrency
 * levels. The best level is the ceiling: what this Cassandra takes from one Node.js client on this machine.
 */
import type { Client } from 'cassandra-driver';
import { renderInsert } from '../schema';
import { SendClock } from '../local/producer';
import { CEILING_TABLE } from './fixtures';

export interface CeilingLevel {
  readonly concurrency: number;
  readonly writes: number;
  readonly seconds: number;
  readonly rate: number;
}

export interface CassandraCeiling {
  readonly table: string;
  readonly levels: readonly CeilingLevel[];
  readonly best: CeilingLevel;
}

export async function cassandraCeiling(
  client: Client,
  keyspace: string,
  options: {
    readonly levels: readonly number[];
    readonly writesPerLevel: number;
    readonly onProgress?: (done: number, detail: string) => void;
  },
): Promise<CassandraCeiling> {
  const cql = renderInsert(keyspace, CEILING_TABLE);
  const clock = new SendClock();
  let done = 0;

  const run = async (concurrency: number, writes: number): Promise<number> => {
    let next = 0;
    const started = performance.now();
    const lane = async (): Promise<void> => {
      while (next < writes) {
        next++;
        // The pipeline's row: a unique send time and the receive time, idempotent as the sink marks it.
        await client.execute(cql, [clock.now(), new Date().toISOString()], { isIdempotent: true });
        done++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, writes) }, lane));
    return (performance.now() - started) / 1000;
  };

  // Warm-up, not measured: the first writes prepare the statement, fill the pool and wake the JIT.
  await run(32, Math.min(2000, options.writesPerLevel));

  const levels: CeilingLevel[] = [];
  const total = options.levels.length * options.writesPerLevel;
  const ticker = setInterval(
    () => options.onProgress?.(done, `${levels.length}/${options.levels.length} levels`),
    200,
  );
  done = 0;
  try {
    for (const concurrency of options.levels) {
      const seconds = await run(concurrency, options.writesPerLevel);
      levels.push({
        concurrency,
        writes: options.writesPerLevel,
        seconds: Math.round(seconds * 1000) / 1000,
        rate: Math.round(options.writesPerLevel / seconds),
      });
      options.onProgress?.(Math.min(done, total), `${levels.length}/${options.levels.length} levels`);
    }
  } finally {
    clearInterval(ticker);
  }
  const best = levels.reduce((a, b) => (b.rate > a.rate ? b : a));
  return { table: CEILING_TABLE.name, levels, best };
}
