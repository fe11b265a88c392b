/**
 * One runner process of the fault suite: the live job (`CHAOS_MODE=live`) or a replay (`replay`), built exactly
 * as `microbatch run` builds it (the same runner, runtime and handler code), in a process of its own so that the
 * suite can SIGKILL, SIGTERM and SIGSTOP it. Its one addition is a fault switch: while the file
 * `<CHAOS_DIR>/fail-writes` exists, every write of the sink fails as a throttled Keyspaces write would, so that
 * batches fail until the event source gives up on them.
 *
 * It prints one JSON line per event on stdout: `invoke` when a batch starts, the batch's progress line when it is
 * committed, and the runner's warnings.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openLocalRuntime } from '../app';
import { EventSourceRunner } from '../runner';
import { resolveEndpoints } from '../services';
import { CassandraSinkStore } from '../../lambda/runtime/cassandra-store';
import { runMicroBatch } from '../../lambda/runtime/batch';
import { SinkError } from '../../lambda/runtime/errors';
import { parseMskEvent } from '../../lambda/runtime/event';
import { chaosJob, chaosSource } from './job';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`The chaos child needs ${name}.`);
  return value;
}

const print = (line: Record<string, unknown>) =>
  process.stdout.write(
    `${JSON.stringify({ at: Date.now(), ...line }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
  );

async function main(): Promise<void> {
  const mode = env('CHAOS_MODE') as 'live' | 'replay';
  const dir = env('CHAOS_DIR');
  const keyspace = env('CHAOS_KEYSPACE');
  const job = chaosJob(env('CHAOS_JOB'), env('CHAOS_TOPIC'));
  const endpoints = resolveEndpoints();
  const runtime = await openLocalRuntime(endpoints, keyspace);
  const real = new CassandraSinkStore(runtime.client, keyspace);
  const failSwitch = join(dir, 'fail-writes');
  const refuse = () => {
    if (existsSync(failSwitch)) throw new SinkError('chaos: the sink refuses writes (throttled)', true);
  };
  const sink = {
    write: async (writes: Parameters<typeof real.write>[0]) => (refuse(), real.write(writes)),
    readPartials: (...args: Parameters<typeof real.readPartials>) => real.readPartials(...args),
    compareAndSetPartial: async (...args: Parameters<typeof real.compareAndSetPartial>) => (
      refuse(),
      real.compareAndSetPartial(...args)
    ),
    recordBatch: (entry: Parameters<typeof real.recordBatch>[0]) => real.recordBatch(entry),
  };
  const source = chaosSource(env('CHAOS_GROUP'), mode === 'replay' ? Number(env('CHAOS_FROM')) : undefined);
  const runner = new EventSourceRunner({
    jobName: job.name,
    topics: job.topics,
    source,
    brokers: endpoints.kafkaBrokers,
    onFailureDir: mode === 'live' ? dir : join(dir, 'replay'),
    stopWhenCaughtUp: mode === 'replay',
    retryBaseDelayMs: 250,
    log: (line) => print({ event: 'runner', ...line }),
    invoke: async (event) => {
      print({ event: 'invoke', records: Object.values(event.records).flat().length });
      return runMicroBatch(job, parseMskEvent(event), {
        checkpoints: runtime.checkpoints,
        sink,
        mode,
        log: (line) => print({ event: line.message === 'micro-batch' ? 'batch' : 'log', ...line }),
      });
    },
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void runner.stop();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await runner.start();
  print({ event: 'started', mode });
  await runner.stopped;
  await runtime.close();
  print({ event: 'stopped', mode, records: runner.stats.records });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    print({ event: 'crashed', error: String(error) });
    process.exit(1);
  },
);
