import { describe, expect, it } from 'vitest';
import { epochMs } from '../../../../lambda/jobs/shared/time-format';

describe('epochMs', () => {
  it('takes epoch milliseconds and ISO-8601 times, a date alone as UTC midnight', () => {
    expect(epochMs(Date.UTC(2026, 4, 21, 2, 20))).toBe(Date.UTC(2026, 4, 21, 2, 20));
    expect(epochMs('2026-05-21T02:20:00.250Z')).toBe(Date.UTC(2026, 4, 21, 2, 20, 0, 250));
    expect(epochMs('2026-05-21T04:20:00+02:00')).toBe(Date.UTC(2026, 4, 21, 2, 20));
    expect(epochMs('2026-05-21')).toBe(Date.UTC(2026, 4, 21));
    expect(epochMs(0)).toBe(0);
  });

  it.each([
    // Date.parse reads each of these as a time of 2001 or 2005 (V8's fallback parser).
    ['a lone digit', '5'],
    ['a month and a day', 'March 7'],
    ['an HTTP date', 'Tue, 1 Jan 2030 00:00:00 GMT'],
    ['a date with words after it', '2026-05-21junk'],
    ['a day that does not exist', '2026-02-30'],
    ['a time before 1970', '1969-12-31T23:59:59Z'],
    ['negative epoch milliseconds', -1],
    ['epoch milliseconds as a string', '1779330000000'],
  ])('refuses %s (%j) rather than reading another time', (_what, ts) => {
    expect(epochMs(ts)).toBeUndefined();
  });
});
