import { describe, expect, it } from 'vitest';
import { SIGNAL_ECHO_MS, stopSignalHandler } from '../../local/stop-signals';

/** A handler on a clock the test moves, recording what it did. */
function handler() {
  let clock = 0;
  const did: string[] = [];
  const handle = stopSignalHandler((signal) => did.push(`stop on ${signal}`), {
    forced: 'the batch in flight',
    now: () => clock,
    exit: (code) => did.push(`exit ${code}`),
    say: (line) => did.push(line.trim()),
  });
  return { handle, did, advance: (ms: number) => (clock += ms) };
}

describe('stop signals', () => {
  it('GIVEN one Ctrl-C under npm (the terminal and npm each deliver it) THEN one graceful stop, no forced exit', () => {
    const { handle, did, advance } = handler();
    handle('SIGINT');
    advance(3);
    handle('SIGINT');
    expect(did).toEqual(['stop on SIGINT']);
  });

  it('GIVEN a second Ctrl-C later THEN it forces the exit with 130, saying what it skips', () => {
    const { handle, did, advance } = handler();
    handle('SIGINT');
    advance(SIGNAL_ECHO_MS);
    handle('SIGINT');
    expect(did).toEqual([
      'stop on SIGINT',
      'SIGINT again: exiting without waiting for the batch in flight.',
      'exit 130',
    ]);
  });

  it('GIVEN a SIGTERM right after a SIGINT THEN it is a second request, not an echo', () => {
    const { handle, did } = handler();
    handle('SIGINT');
    handle('SIGTERM');
    expect(did.at(-1)).toBe('exit 130');
  });
});
