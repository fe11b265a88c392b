import { describe, expect, it } from 'vitest';
import { rateTimeline, steadyRate } from '../../bench/stats';

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
