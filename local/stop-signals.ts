/**
 * What a Ctrl-C or SIGTERM means to a long-running command: the first asks for a graceful stop; a second forces
 * an exit (code 130). One keypress can arrive twice, though: under `npm run`, the terminal's SIGINT reaches the
 * whole foreground process group, npm included, and npm forwards it to its child, this process
 * (@npmcli/run-script, lib/signal-manager.js). A repeat of the same signal this soon after the first is that echo,
 * not a second Ctrl-C, and must not turn a graceful stop into a forced one.
 */
export const SIGNAL_ECHO_MS = 500;

export interface StopSignalOptions {
  /** Signals that arrived before the handler was installed (bin.js remembers them while loading). */
  readonly early?: readonly NodeJS.Signals[];
  /** What a forced exit skips, for its message. */
  readonly forced: string;
  /** @default - `performance.now` */
  readonly now?: () => number;
  /** @default - `process.exit` */
  readonly exit?: (code: number) => void;
  /** @default - `console.error` */
  readonly say?: (line: string) => void;
}

/** The signal handler: `first` on the first stop signal, nothing on its echo, a forced exit on a real second one. */
export function stopSignalHandler(
  first: (signal: NodeJS.Signals) => void,
  options: StopSignalOptions,
): (signal: NodeJS.Signals) => void {
  const now = options.now ?? (() => performance.now());
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const say = options.say ?? ((line: string) => console.error(line));
  let firstSignal: { signal: NodeJS.Signals; at: number } | undefined;
  return (signal) => {
    const at = now();
    if (!firstSignal) {
      firstSignal = { signal, at };
      first(signal);
      return;
    }
    if (signal === firstSignal.signal && at - firstSignal.at < SIGNAL_ECHO_MS) return;
    say(`\n${signal} again: exiting without waiting for ${options.forced}.`);
    exit(130);
  };
}

/** Installs `stopSignalHandler` for SIGINT and SIGTERM, and replays the early signals through it. */
export function onStopSignals(first: (signal: NodeJS.Signals) => void, options: StopSignalOptions): void {
  const handler = stopSignalHandler(first, options);
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  for (const signal of options.early ?? []) handler(signal);
}
