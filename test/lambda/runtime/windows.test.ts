import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  addReading,
  advanceWatermark,
  isLate,
  mergePartials,
  windowSpecId,
  windowStartsFor,
} from '../../../lambda/runtime/windows';

describe('windowStartsFor', () => {
  it('puts a time in exactly one tumbling window', () => {
    expect(windowStartsFor(12_345, { sizeMs: 5000, slideMs: 5000 })).toEqual([10_000]);
  });

  it('puts a time in size/slide sliding windows, each containing it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 1000 }),
        (t, k, slide) => {
          const spec = { sizeMs: slide * k, slideMs: slide };
          const starts = windowStartsFor(t, spec);
          expect(starts).toHaveLength(k);
          for (const s of starts) {
            expect(Math.abs(s % slide)).toBe(0); // starts at t=0 may be negative: -1 % 1 is -0
            expect(s <= t && t < s + spec.sizeMs).toBe(true);
          }
        },
      ),
    );
  });

  it('names tumbling and sliding specs apart', () => {
    expect(windowSpecId({ sizeMs: 60_000, slideMs: 60_000 })).toBe('tumbling:60000');
    expect(windowSpecId({ sizeMs: 60_000, slideMs: 10_000 })).toBe('sliding:60000:10000');
  });
});

describe('mergePartials', () => {
  it('equals folding every reading into one partial, whatever the split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1 }), {
          minLength: 1,
          maxLength: 5,
        }),
        (groups) => {
          const partials = groups.map((g) =>
            g.reduce<ReturnType<typeof addReading> | undefined>((p, v) => addReading(p, v), undefined)!,
          );
          const all = groups.flat();
          expect(mergePartials(partials)).toEqual({
            count: all.length,
            sum: all.reduce((a, b) => a + b, 0),
            min: Math.min(...all),
            max: Math.max(...all),
            mean: all.reduce((a, b) => a + b, 0) / all.length,
          });
        },
      ),
    );
  });
});

// The window reference of the integration tests (test/support/reference.ts) folds records with these two: their
// own expectations are written out here, so a mistake shared with the reference would still show.
describe('the watermark', () => {
  it('GIVEN no watermark yet THEN nothing is late, and the first record sets it its lateness behind', () => {
    expect(isLate(null, 0)).toBe(false);
    expect(advanceWatermark(null, 60_000, 10_000)).toBe(50_000);
  });

  it('GIVEN a watermark THEN a record is late strictly behind it, not on it', () => {
    expect(isLate(50_000, 49_999)).toBe(true);
    expect(isLate(50_000, 50_000)).toBe(false);
    expect(isLate(50_000, 50_001)).toBe(false);
  });

  it('only moves forward: an older record leaves it where it was', () => {
    expect(advanceWatermark(50_000, 55_000, 10_000)).toBe(50_000);
    expect(advanceWatermark(50_000, 70_000, 10_000)).toBe(60_000);
    expect(advanceWatermark(50_000, 70_000, 0)).toBe(70_000);
  });
});
