import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  commandLineContains,
  fileSize,
  isAlive,
  livePid,
  logTail,
  portOpen,
  readPidFile,
  spawnDetached,
  stopProcess,
  waitForExit,
} from '../../../local/services/proc';

const dir = mkdtempSync(path.join(tmpdir(), 'services-proc-'));
const spawned: number[] = [];

afterEach(() => {
  for (const pid of spawned.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A detached node process that prints a line and then idles; `ignoreTerm` makes it ignore SIGTERM. */
async function startIdler(
  name: string,
  ignoreTerm = false,
): Promise<{ pid: number; pidFile: string; logFile: string }> {
  const pidFile = path.join(dir, 'run', `${name}.pid`);
  const logFile = path.join(dir, 'logs', `${name}.log`);
  const script = `${ignoreTerm ? "process.on('SIGTERM', () => console.log('ignoring SIGTERM'));" : ''} console.log('up ${name}'); setInterval(() => {}, 1000);`;
  const pid = await spawnDetached(process.execPath, ['-e', script, `marker-${name}`], {
    cwd: dir,
    logFile,
    pidFile,
  });
  spawned.push(pid);
  return { pid, pidFile, logFile };
}

async function waitForLog(file: string, text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(existsSync(file) && readFileSync(file, 'utf8').includes(text))) {
    if (Date.now() > deadline) throw new Error(`${file} never got "${text}"`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('spawnDetached', () => {
  it('starts a process in its own group, with its PID in the PID file and its output in the log', async () => {
    const p = await startIdler('a');
    expect(readPidFile(p.pidFile)).toBe(p.pid);
    expect(isAlive(p.pid)).toBe(true);
    await waitForLog(p.logFile, 'up a');
    if (existsSync('/proc/self/stat')) {
      // Field 5 of /proc/<pid>/stat is the process group: detached => its own.
      const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      expect(pgrp).toBe(p.pid);
    }
  });

  it('rejects when the binary does not exist', async () => {
    await expect(
      spawnDetached(path.join(dir, 'no-such-java'), [], {
        cwd: dir,
        logFile: path.join(dir, 'x.log'),
        pidFile: path.join(dir, 'x.pid'),
      }),
    ).rejects.toThrow(/ENOENT/);
    expect(existsSync(path.join(dir, 'x.pid'))).toBe(false);
  });
});

describe('livePid', () => {
  it('trusts a PID file only if the process command line carries our marker', async () => {
    const p = await startIdler('b');
    expect(commandLineContains(p.pid, 'marker-b')).toBe(true);
    expect(livePid(p.pidFile, 'marker-b')).toBe(p.pid);
    if (existsSync('/proc/self/cmdline')) {
      // Same PID, different marker: a reused PID must not be taken for ours; the stale file goes.
      expect(livePid(p.pidFile, 'marker-somebody-else')).toBeUndefined();
      expect(existsSync(p.pidFile)).toBe(false);
    }
  });
});

describe('stopProcess', () => {
  it('stops a process with SIGTERM when it obeys', async () => {
    const p = await startIdler('c');
    await expect(stopProcess(p.pid, 5000)).resolves.toBe('terminated');
    expect(isAlive(p.pid)).toBe(false);
  });

  it('escalates to SIGKILL after the grace period', async () => {
    const p = await startIdler('d', true);
    await waitForLog(p.logFile, 'up d'); // the SIGTERM handler is installed before this line
    const t0 = Date.now();
    await expect(stopProcess(p.pid, 700)).resolves.toBe('killed');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect(isAlive(p.pid)).toBe(false);
    expect(readFileSync(p.logFile, 'utf8')).toContain('ignoring SIGTERM');
  });

  it('reports a process that is already gone', async () => {
    const p = await startIdler('e');
    process.kill(p.pid, 'SIGKILL');
    expect(await waitForExit(p.pid, 5000)).toBe(true);
    await expect(stopProcess(p.pid, 1000)).resolves.toBe('not-running');
  });
});

describe('portOpen', () => {
  it('sees a listening port as open and a closed one as closed', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    expect(await portOpen('127.0.0.1', port)).toBe(true);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await portOpen('127.0.0.1', port)).toBe(false);
  });
});

describe('logTail', () => {
  it('returns the last lines, and nothing for a missing file', async () => {
    const p = await startIdler('f');
    await waitForLog(p.logFile, 'up f');
    expect(logTail(p.logFile, 1)).toBe('up f');
    expect(logTail(path.join(dir, 'missing.log'))).toBe('');
  });

  it('reads only what was written after an offset', () => {
    const file = path.join(dir, 'offset.log');
    writeFileSync(file, 'old run\nold error\n');
    const from = fileSize(file);
    appendFileSync(file, 'new run\n');
    expect(logTail(file, 10, from)).toBe('new run');
    expect(logTail(file, 10, fileSize(file))).toBe('');
  });
});
