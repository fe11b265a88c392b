import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/**
 * Detached processes tracked by PID files. The PID alone is not trusted (PIDs are
 * reused): on Linux, /proc/<pid>/cmdline must also contain a marker of ours, such as
 * the absolute path of the service's rendered config file.
 */

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function removePidFile(file: string): void {
  rmSync(file, { force: true });
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // "pid (comm) S ..." - the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (macOS): kill(0) is all we have
  }
}

/** Whether the process's command line contains `marker`; true where /proc is not available to check. */
export function commandLineContains(pid: number, marker: string): boolean {
  const file = `/proc/${pid}/cmdline`;
  if (!existsSync('/proc/self/cmdline')) return true;
  try {
    return readFileSync(file, 'utf8')
      .split('\0')
      .some((arg) => arg.includes(marker));
  } catch {
    return false;
  }
}

/** The PID in `file` if that process is alive and is ours (by marker); removes a stale file. */
export function livePid(file: string, marker: string): number | undefined {
  const pid = readPidFile(file);
  if (pid === undefined) return undefined;
  if (isAlive(pid) && commandLineContains(pid, marker)) return pid;
  removePidFile(file);
  return undefined;
}

export interface SpawnDetachedOptions {
  cwd: string;
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Start a process that outlives us: its own process group (detached), stdout and stderr
 * appended to `logFile`, PID written to `pidFile`. Resolves once the OS has started it.
 */
export function spawnDetached(cmd: string, args: string[], o: SpawnDetachedOptions): Promise<number> {
  mkdirSync(path.dirname(o.logFile), { recursive: true });
  mkdirSync(path.dirname(o.pidFile), { recursive: true });
  const fd = openSync(o.logFile, 'a');
  return new Promise<number>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: o.cwd,
      env: o.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.once('error', (err) => {
      closeSync(fd);
      reject(err);
    });
    child.once('spawn', () => {
      closeSync(fd);
      const pid = child.pid;
      if (pid === undefined) {
        reject(new Error(`${cmd} started without a PID`));
        return;
      }
      writeFileSync(o.pidFile, `${pid}\n`);
      child.unref();
      resolve(pid);
    });
  });
}

export type StopOutcome = 'terminated' | 'killed' | 'not-running';

/**
 * SIGTERM, wait up to `graceMs` for the process to exit (both JVMs shut down cleanly on
 * SIGTERM: Kafka does a controlled shutdown, Cassandra drains), then SIGKILL.
 * Throws if it is still alive `killWaitMs` after SIGKILL.
 */
export async function stopProcess(pid: number, graceMs: number, killWaitMs = 10_000): Promise<StopOutcome> {
  if (!isAlive(pid)) return 'not-running';
  if (!signal(pid, 'SIGTERM')) return 'not-running';
  if (await waitForExit(pid, graceMs)) return 'terminated';
  signal(pid, 'SIGKILL');
  if (await waitForExit(pid, killWaitMs)) return 'killed';
  throw new Error(`pid ${pid} is still alive after SIGKILL`);
}

function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether something accepts TCP connections on host:port (within `timeoutMs`). */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The last `lines` lines of a (possibly large, possibly missing) log file, looking only
 * at what was written after byte `fromOffset` (e.g. since a process was started).
 */
export function logTail(file: string, lines = 20, fromOffset = 0, maxBytes = 64 * 1024): string {
  try {
    const buf = readFileSync(file);
    const text = buf.subarray(Math.max(fromOffset, buf.length - maxBytes)).toString('utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Current size of a file, 0 if it does not exist. */
export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
