/**
 * The progress bar: one line on stderr, redrawn in place on a terminal. Off a terminal (CI logs, the smoke
 * test) it prints one line per phase instead, so that logs stay readable.
 */
export interface Progress {
  /** Starts a phase: `total` units of work, or none for a phase without a known size. */
  phase(name: string, total?: number): void;
  /** Reports `done` units of the current phase, with an optional short detail. */
  update(done: number, detail?: string): void;
  /** Ends the current phase with a one-line summary. */
  done(summary: string): void;
}

export function progress(options: { enabled: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.enabled && stream.isTTY === true;
  let name = '';
  let total: number | undefined;
  let started = 0;
  let lastDraw = 0;
  const width = 28;

  const draw = (done: number, detail: string | undefined, force: boolean): void => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return; // Redraw at most ten times a second.
    lastDraw = now;
    const secs = ((now - started) / 1000).toFixed(1);
    const bar =
      total && total > 0
        ? `[${'#'.repeat(Math.min(width, Math.round((done / total) * width))).padEnd(width, '.')}] ${String(Math.min(100, Math.floor((done / total) * 100))).padStart(3)}%`
        : '';
    const line = `${name.padEnd(22)} ${bar} ${detail ?? ''} ${secs}s`;
    stream.write(
      `\r${line.slice(0, (stream.columns ?? 120) - 1).padEnd(Math.min(119, (stream.columns ?? 120) - 1))}`,
    );
  };

  return {
    phase(n, t) {
      name = n;
      total = t;
      started = Date.now();
      lastDraw = 0;
      if (!options.enabled) return;
      if (tty) draw(0, undefined, true);
      else stream.write(`bench: ${n}...\n`);
    },
    update(done, detail) {
      draw(done, detail, false);
    },
    done(summary) {
      if (!options.enabled) return;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const line = `${name.padEnd(22)} ${summary} (${secs}s)`;
      stream.write(
        tty ? `\r${line.padEnd(Math.min(119, (stream.columns ?? 120) - 1))}\n` : `bench: ${line}\n`,
      );
    },
  };
}
