/**
 * The one progress display of the project's commands (the producer, the bench, the fault suite). On a terminal:
 * one line on stderr, redrawn in place at most ten times a second. Off a terminal (CI logs, a pipe): a plain
 * line when a phase starts, one per `intervalMs` while it runs, and one when it ends, so logs stay readable.
 */
export interface Progress {
  /** Starts a phase: `total` units of work, or none for a phase without a known size. */
  phase(name: string, total?: number): void;
  /** Reports `done` units of the current phase, with an optional short detail. */
  update(done: number, detail?: string): void;
  /** Ends the current phase with a one-line summary. */
  done(summary: string): void;
}

export interface ProgressOptions {
  /** `false` prints nothing at all. @default true */
  readonly enabled?: boolean;
  /** @default process.stderr */
  readonly stream?: Pick<NodeJS.WriteStream, 'write'> & {
    readonly isTTY?: boolean;
    readonly columns?: number;
  };
  /** What each plain line starts with, e.g. `bench`. @default - nothing */
  readonly label?: string;
  /** Off a terminal: how often a running phase prints a line. @default 5000 */
  readonly intervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const BAR_WIDTH = 28;

export function progress(options: ProgressOptions = {}): Progress {
  const enabled = options.enabled ?? true;
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 5000;
  const prefix = options.label ? `${options.label}: ` : '';
  let name = '';
  let total: number | undefined;
  let started = 0;
  let lastLine = 0;
  let drawn = false;

  const columns = () => Math.min(120, stream.columns ?? 120) - 1;
  const describe = (done: number, detail: string | undefined): string => {
    const secs = ((now() - started) / 1000).toFixed(1);
    const counted = total !== undefined && total > 0 ? total : undefined;
    const bar = counted
      ? `[${'#'.repeat(Math.min(BAR_WIDTH, Math.round((done / counted) * BAR_WIDTH))).padEnd(BAR_WIDTH, '.')}] ` +
        `${String(Math.min(100, Math.floor((done / counted) * 100))).padStart(3)}% `
      : '';
    return `${name} ${bar}${done}${counted ? `/${counted}` : ''}${detail ? ` ${detail}` : ''} ${secs}s`;
  };
  const write = (line: string, final: boolean): void => {
    if (tty) {
      stream.write(`\r${line.slice(0, columns()).padEnd(columns())}${final ? '\n' : ''}`);
      drawn = !final;
    } else {
      stream.write(`${prefix}${line}\n`);
    }
  };

  return {
    phase(n, t) {
      if (drawn) write(describe(0, undefined), true);
      name = n;
      total = t;
      started = now();
      lastLine = started;
      if (enabled) write(tty ? describe(0, undefined) : `${n}...`, false);
    },
    update(done, detail) {
      if (!enabled) return;
      const t = now();
      // A terminal redraws ten times a second; a log gets a line per interval.
      if (t - lastLine < (tty ? 100 : intervalMs)) return;
      lastLine = t;
      write(describe(done, detail), false);
    },
    done(summary) {
      if (!enabled) return;
      const secs = ((now() - started) / 1000).toFixed(1);
      write(`${name} ${summary} (${secs}s)`, true);
    },
  };
}
