import { describe, expect, it } from 'vitest';
import { EndOffsetHistory } from '../../../local/ui/lag';

describe('EndOffsetHistory.secondsBehind', () => {
  it('is 0 when the group is at the end', () => {
    const h = new EndOffsetHistory();
    h.record('t', 0, 10, 1000);
    expect(h.secondsBehind('t', 0, 10, 5000)).toBe(0);
  });

  it('interpolates when the waiting record arrived between two samples', () => {
    const h = new EndOffsetHistory();
    h.record('t', 0, 10, 0);
    h.record('t', 0, 10, 5000);
    h.record('t', 0, 20, 10_000);
    // Offset 10 is the first of the ten records appended between 5 s and 10 s: at 5.5 s.
    expect(h.secondsBehind('t', 0, 10, 20_000)).toBeCloseTo(14.5, 6);
    // Offset 19 is the last of them: at 10 s.
    expect(h.secondsBehind('t', 0, 19, 20_000)).toBeCloseTo(10, 6);
  });

  it('is a lower bound, the history’s age, when the record is older than the history', () => {
    const h = new EndOffsetHistory();
    h.record('t', 0, 50, 3000);
    h.record('t', 0, 60, 8000);
    expect(h.secondsBehind('t', 0, 40, 10_000)).toBe(7);
    expect(h.behind('t', 0, 40, 10_000)).toEqual({ seconds: 7, atLeast: true });
    // Within the history, an estimate proper.
    expect(h.behind('t', 0, 55, 10_000)).toEqual({ seconds: 4, atLeast: false });
  });

  it('GIVEN only the sample just taken, with records waiting THEN unknown, not 0 s behind', () => {
    const h = new EndOffsetHistory();
    h.record('t', 0, 50, 3000);
    expect(h.behind('t', 0, 47, 3000)).toBeNull();
    expect(h.behind('t', 0, 47, 4000)).toEqual({ seconds: 1, atLeast: true });
  });

  it('keeps only the ends of a flat stretch, and knows nothing of unseen partitions', () => {
    const h = new EndOffsetHistory();
    for (let t = 0; t <= 20_000; t += 5000) h.record('t', 1, 7, t);
    h.record('t', 1, 9, 25_000);
    // The record at 7 arrived after the flat stretch ended at 20 s.
    expect(h.secondsBehind('t', 1, 7, 30_000)).toBeCloseTo(7.5, 6);
    expect(h.secondsBehind('t', 2, 0, 30_000)).toBeNull();
  });
});
