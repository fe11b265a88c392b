import { describe, expect, it } from 'vitest';
import { distribution, median, rateTimeline, steadyRate } from '../../bench/stats';

describe('steadyRate', () => {
  it('GIVEN a run with a slow start and a tail that waits out a window THEN it measures the middle 80% only', () => {
    // GIVEN 1 s before the first ack, then 100 rows every 10 ms for 1 s (10,000 rows/s), then a last 100 rows 5 s later
    const acks = [
      ...Array.from({ length: 100 }, (_, i) => ({ at: 1000 + i * 10, rows: 100 })),
      { at: 7000, rows: 100 },
    ];
    // WHEN the steady rate is taken
    const steady = steadyRate(acks)!;
    // THEN it is the rate of the run's body, not the whole run's (10,100 rows over 7 s)
    expect(steady.rate).toBeGreaterThan(9_900);
    expect(steady.rate).toBeLessThan(10_200);
    expect(steady.rows).toBeGreaterThanOrEqual(8_000);
  });

  it('GIVEN acknowledgements out of order THEN it sorts them by time first', () => {
    const acks = Array.from({ length: 50 }, (_, i) => ({ at: 100 * (50 - i), rows: 10 }));
    expect(steadyRate(acks)!.rate).toBe(100);
  });

  it('GIVEN everything acknowledged at one instant THEN there is no steady rate', () => {
    expect(steadyRate([{ at: 5, rows: 1000 }])).toBeNull();
    expect(steadyRate([])).toBeNull();
  });
});

describe('rateTimeline', () => {
  it('counts rows per bucket, from single events or per-request counts', () => {
    expect(rateTimeline([0, 100, 1500], 0, 1000)).toEqual([
      { t: 0, rate: 2 },
      { t: 1, rate: 1 },
    ]);
    expect(
      rateTimeline(
        [
          { at: 0, rows: 30 },
          { at: 2500, rows: 10 },
        ],
        0,
        1000,
      ),
    ).toEqual([
      { t: 0, rate: 30 },
      { t: 1, rate: 0 },
      { t: 2, rate: 10 },
    ]);
  });
});

describe('median', () => {
  it('GIVEN an odd count THEN the middle value, whatever the order', () => {
    expect(median([9, 1, 5])).toBe(5);
  });

  it('GIVEN an even count THEN the mean of the middle two, not the lower one', () => {
    // 1, 2, 3, 4: (2 + 3) / 2. The 10 measured invocations of a Lambda-sized run are an even count.
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([20, 30])).toBe(25);
    expect(median([10, 11, 12, 13, 14, 15, 16, 17, 18, 100])).toBe(14.5);
  });

  it('GIVEN no values THEN NaN', () => {
    expect(median([])).toBeNaN();
  });
});

describe('distribution', () => {
  it('GIVEN 200 values THEN nearest-rank percentiles: p99 is the 198th smallest, p50 the 100th', () => {
    // 1..200: rank ceil(0.99 * 200) = 198, ceil(0.95 * 200) = 190, ceil(0.5 * 200) = 100.
    const d = distribution(Array.from({ length: 200 }, (_, i) => 200 - i));
    expect(d).toEqual({ count: 200, p50: 100, p95: 190, p99: 198, max: 200, mean: 100.5 });
  });

  it('GIVEN fewer than 100 values THEN p99 is the largest', () => {
    expect(distribution([3, 1, 2]).p99).toBe(3);
  });
});
