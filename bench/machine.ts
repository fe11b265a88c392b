/**
 * What the numbers were measured on, and where the CPU went while they were measured. The machine is shared
 * (two cores run Kafka, Cassandra, the benchmark and anything else), so every phase records how many cores each
 * process used: that is what tells which one bounds a throughput.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly loadAverage1mAtStart: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage1mAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks =
        Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim()) || 100;
    } catch {
      clockTicks = 100; // Linux's USER_HZ nearly everywhere.
    }
  }
  return clockTicks;
}

function readProcTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

function readMachineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** The PID files local/services writes in native mode. */
export function servicePids(root: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const service of ['kafka', 'cassandra']) {
    try {
      const pid = Number(readFileSync(join(root, '.local', 'run', `${service}.pid`), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && readProcTicks(pid) !== undefined) out[service] = pid;
    } catch {
      // Not native mode, or not running: that process is simply not sampled.
    }
  }
  return out;
}

/** Cores used per process over one phase (1.0 = one core busy the whole time). */
export interface CpuUse {
  readonly seconds: number;
  /** The whole machine, every process: at most `cores`. */
  readonly machine: number;
  readonly byProcess: Readonly<Record<string, number>>;
  /** Busy time of the machine not explained by the named processes (other users, the kernel, ...). */
  readonly other: number;
}

export class CpuSampler {
  private readonly started = performance.now();
  private readonly machine0 = readMachineTicks();
  private readonly procs0 = new Map<string, { pid: number; ticks: number }>();

  constructor(pids: Readonly<Record<string, number>>) {
    for (const [name, pid] of Object.entries(pids)) this.add(name, pid);
  }

  /** Starts sampling one more process (e.g. a child started during the phase). */
  add(name: string, pid: number): void {
    const ticks = readProcTicks(pid);
    if (ticks !== undefined) this.procs0.set(name, { pid, ticks });
  }

  stop(): CpuUse {
    const seconds = (performance.now() - this.started) / 1000;
    const hz = ticksPerSecond();
    const byProcess: Record<string, number> = {};
    let named = 0;
    for (const [name, { pid, ticks }] of this.procs0) {
      const now = readProcTicks(pid);
      // A child that exited during the phase has no /proc entry left: its share shows up under `other`.
      if (now === undefined) continue;
      const cores = (now - ticks) / hz / seconds;
      byProcess[name] = round2(cores);
      named += cores;
    }
    const m1 = readMachineTicks();
    let machine = Number.NaN;
    if (this.machine0 && m1 && m1.total > this.machine0.total) {
      const cores = os.cpus().length;
      machine = ((m1.busy - this.machine0.busy) / (m1.total - this.machine0.total)) * cores;
    }
    return {
      seconds: round2(seconds),
      machine: round2(machine),
      byProcess,
      other: round2(Math.max(0, machine - named)),
    };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * A meter of the CPU a JVM's JIT compiler threads use (`C1 CompilerThre...`, `C2 CompilerThre...` in
 * `/proc/<pid>/task/<tid>/comm`): while they are busy, the JVM is still compiling its hot paths and runs slower than
 * it will. Each call returns the cores they used since the previous one; undefined when the threads cannot be read
 * (not Linux, not our process, compose mode).
 */
export function jitMeter(pid: number | undefined): () => number | undefined {
  if (pid === undefined) return () => undefined;
  const read = (): number | undefined => {
    try {
      let ticks = 0;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          if (!/^C\d CompilerThre/.test(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8'))) continue;
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          ticks += Number(fields[11]) + Number(fields[12]);
        } catch {
          // A compiler thread that ended meanwhile.
        }
      }
      return ticks;
    } catch {
      return undefined;
    }
  };
  let last = read();
  let lastAt = performance.now();
  return () => {
    const now = read();
    const at = performance.now();
    const cores =
      now === undefined || last === undefined
        ? undefined
        : (now - last) / ticksPerSecond() / ((at - lastAt) / 1000);
    last = now;
    lastAt = at;
    return cores;
  };
}
