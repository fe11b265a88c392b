import { describe, expect, it } from 'vitest';
import { progress } from '../../local/progress';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 60, write: (s: string) => writes.push(s) > 0 } };
}

function clock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('progress off a terminal (CI logs, a pipe)', () => {
  it('prints a plain line when a phase starts, one per interval while it runs, and one when it ends', () => {
    // GIVEN a pipe and a 5 s interval
    const { writes, stream } = fakeStream(false);
    const time = clock();
    const p = progress({ stream, now: time.now, label: 'produce', intervalMs: 5000 });
    // WHEN a phase reports ten times a second for 12 s
    p.phase('sending', 1000);
    for (let i = 1; i <= 120; i++) {
      time.advance(100);
      p.update(i * 8);
    }
    p.done('1000 records');
    // THEN there is no carriage return, and only the lines at 5 s and 10 s between start and end
    expect(writes.join('')).not.toContain('\r');
    expect(writes).toEqual([
      'produce: sending...\n',
      expect.stringMatching(/^produce: sending \[#+\.*\]\s+40% 400\/1000 5\.0s\n$/),
      expect.stringMatching(/^produce: sending \[#+\.*\]\s+80% 800\/1000 10\.0s\n$/),
      'produce: sending 1000 records (12.0s)\n',
    ]);
  });

  it('prints a count with no bar for a phase of unknown size', () => {
    const { writes, stream } = fakeStream(false);
    const time = clock();
    const p = progress({ stream, now: time.now, intervalMs: 1000 });
    p.phase('waiting for rows');
    time.advance(1000);
    p.update(42, 'rows');
    expect(writes[1]).toBe('waiting for rows 42 rows 1.0s\n');
  });
});

describe('progress on a terminal', () => {
  it('redraws one line in place at most ten times a second, cut to the terminal width', () => {
    const { writes, stream } = fakeStream(true);
    const time = clock();
    const p = progress({ stream, now: time.now });
    p.phase('sending', 10);
    for (let i = 1; i <= 10; i++) {
      time.advance(50);
      p.update(i, 'x'.repeat(200));
    }
    p.done('10 records');
    // One line to start, five redraws (every 100 ms over 500 ms), and the final line.
    expect(writes).toHaveLength(7);
    for (const w of writes.slice(0, -1)) {
      expect(w.startsWith('\r')).toBe(true);
      expect(w.length).toBe(1 + 59);
      expect(w.endsWith('\n')).toBe(false);
    }
    expect(writes.at(-1)).toMatch(/^\rsending 10 records \(0\.5s\)\s*\n$/);
  });
});

describe('progress turned off', () => {
  it('prints nothing', () => {
    const { writes, stream } = fakeStream(true);
    const p = progress({ stream, enabled: false });
    p.phase('sending', 10);
    p.update(5);
    p.done('done');
    expect(writes).toEqual([]);
  });
});
