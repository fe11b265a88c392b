/**
 * The restart phase: a runner killed with SIGKILL in the middle of a stream, restarted at once; how long until
 * the new process has committed its next batch. A producer sends at a steady rate meanwhile, and the batch size is
 * small enough that the backlog of the outage fills the first batch, so the time measured is the restart's, not
 * the batching window's.
 *
 * What a restart waits for: the process to start, and the group to give it the partitions. A dynamic member joins
 * a group whose dead member still holds them until its session expires; a static member (the runner's default,
 * local/static-membership.ts) takes the dead member's place at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { RunnerChildArgs } from './runner-child';
import { onJsonLines } from '../local/json-lines';

export interface RestartResult {
  readonly staticMembership: boolean;
  readonly sessionTimeoutMs: number | 'default';
  readonly rate: number;
  readonly batchSize: number;
  readonly windowSeconds: number;
  /** From the SIGKILL (ms): the new process is running... */
  readonly processUpMs: number;
  /** ...its consumer has joined the group... */
  readonly joinedMs: number;
  /** ...its first records arrived from Kafka... */
  readonly fetchedMs: number;
  /** ...and its first batch is committed: the restart time. */
  readonly firstBatchMs: number;
  /** Batches the killed runner committed before the kill. */
  readonly batchesBeforeKill: number;
}

type Event = { at: number; event: string };

class RunnerProcess {
  readonly events: Event[] = [];
  readonly exited: Promise<number | null>;
  readonly child: ChildProcess;
  stderr = '';

  constructor(root: string, args: RunnerChildArgs) {
    // tsx's register hook, not its CLI: the CLI runs the script in a child of its own, which a SIGKILL would miss.
    this.child = spawn(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), join(root, 'bench', 'runner-child.ts'), JSON.stringify(args)],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    onJsonLines(this.child.stdout!, (value) => this.events.push(value as Event));
    this.child.stderr!.on(
      'data',
      (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)),
    );
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  first(event: string): number | undefined {
    return this.events.find((e) => e.event === event)?.at;
  }

  count(event: string): number {
    return this.events.filter((e) => e.event === event).length;
  }

  async waitFor(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exitCode: number | null | undefined;
    void this.exited.then((code) => (exitCode = code));
    while (!done()) {
      if (exitCode !== undefined)
        throw new Error(
          `The restart phase's runner exited (${exitCode}) before ${what}: ${this.stderr.trim()}`,
        );
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${this.stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

export async function measureRestart(options: {
  readonly root: string;
  readonly args: RunnerChildArgs;
  readonly rate: number;
  /** Starts the producer; resolves when it is done. */
  readonly produce: () => Promise<unknown>;
  /** Stops the producer once the restart is measured (its count only bounds the phase). */
  readonly stopProducing: () => void;
  readonly onPid?: (name: string, pid: number) => void;
  readonly timeoutMs: number;
}): Promise<RestartResult> {
  const { args } = options;
  const producing = options.produce();
  const first = new RunnerProcess(options.root, args);
  let second: RunnerProcess | undefined;
  try {
    // Let it settle: a few batches committed, then kill it in the middle of the next one.
    await first.waitFor(
      'the first runner to commit 3 batches',
      () => first.count('batch') >= 3,
      options.timeoutMs,
    );
    const before = first.count('batch');
    await new Promise((resolve) => setTimeout(resolve, 50));
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;
    second = new RunnerProcess(options.root, args);
    if (second.child.pid) options.onPid?.('restarted runner', second.child.pid);
    const s = second;
    await s.waitFor('the restarted runner to commit a batch', () => s.count('batch') >= 1, options.timeoutMs);
    const rel = (event: string): number => (s.first(event) ?? Number.NaN) - killedAt;
    return {
      staticMembership: args.staticMembership,
      sessionTimeoutMs: args.sessionTimeoutMs ?? 'default',
      rate: options.rate,
      batchSize: args.source.batchSize,
      windowSeconds: args.source.maxBatchingWindowSeconds,
      processUpMs: rel('started'),
      joinedMs: rel('joined'),
      fetchedMs: rel('fetched'),
      firstBatchMs: rel('batch'),
      batchesBeforeKill: before,
    };
  } finally {
    first.child.kill('SIGKILL');
    if (second) {
      second.child.kill('SIGTERM');
      await Promise.race([second.exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      second.child.kill('SIGKILL');
    }
    options.stopProducing();
    await producing.catch(() => undefined);
  }
}
