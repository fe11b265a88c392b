import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ServicesError } from './errors';
import type { Layout } from './paths';
import { isAlive, sleep } from './proc';

/**
 * One native up/down/reset at a time per checkout (e.g. a vitest globalSetup and a CLI
 * `up` racing would both spawn a Kafka). The lock file holds the owner's PID, so a lock
 * left by a crashed process is taken over.
 */
let inProcess: Promise<unknown> = Promise.resolve();

export function withLock<T>(
  l: Layout,
  log: (line: string) => void,
  fn: () => Promise<T>,
  waitMs = 600_000,
): Promise<T> {
  // Calls from this process queue up here; the file lock is for other processes.
  const run = inProcess.then(() => withFileLock(l, log, fn, waitMs));
  inProcess = run.catch(() => undefined);
  return run;
}

async function withFileLock<T>(
  l: Layout,
  log: (line: string) => void,
  fn: () => Promise<T>,
  waitMs: number,
): Promise<T> {
  const file = path.join(l.runDir, 'services.lock');
  mkdirSync(l.runDir, { recursive: true });
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number(readFileSafe(file).trim());
    if (!Number.isInteger(owner) || owner <= 0 || !isAlive(owner)) {
      rmSync(file, { force: true }); // stale: its owner is gone
      continue;
    }
    if (Date.now() > deadline) {
      throw new ServicesError(
        `Another process (pid ${owner}) is starting or stopping the services (lock ${file}); wait for it, or remove the file if that pid is not ours.`,
      );
    }
    if (!told) log(`waiting for pid ${owner}, which holds ${path.relative(l.root, file)}`);
    told = true;
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

function readFileSafe(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}
