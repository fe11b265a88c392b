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
    ['a space between date and time (RFC 3339; the tutorial format)', '2026-05-21 02:20:00'],
    ['no zone', '2026-05-21T02:20:00'],
    ['minutes only', '2026-05-21T02:20'],
    ['lower-case t and z', '2026-05-21t02:20:00z'],
    ['an offset without a colon', '2026-05-21T04:20:00+0200'],
    ['an offset in hours', '2026-05-21T04:20:00+02'],
    ['a negative offset', '2026-05-20T21:20:00-05:00'],
    ['nanoseconds', '2026-05-21T02:20:00.000000000Z'],
  ])('reads %s (%j) as the same instant, a time without a zone as UTC', (_what, ts) => {
    expect(epochMs(ts)).toBe(Date.UTC(2026, 4, 21, 2, 20));
  });

  it.each([
    // Date.parse reads the first two as times of 2005 and 2001 (V8's fallback parser).
    ['a lone digit', '5'],
    ['a month and a day', 'March 7'],
    ['an HTTP date, not ISO-8601', 'Tue, 1 Jan 2030 00:00:00 GMT'],
    ['an hour past 24', '2026-05-21T25:00:00Z'],
    ['a zone of letters', '2026-05-21T02:20:00 UTC'],
    ['a date with words after it', '2026-05-21junk'],
    ['a day that does not exist', '2026-02-30'],
    ['a time before 1970', '1969-12-31T23:59:59Z'],
    ['negative epoch milliseconds', -1],
    ['epoch milliseconds as a string', '1779330000000'],
  ])('refuses %s (%j) rather than reading another time', (_what, ts) => {
    expect(epochMs(ts)).toBeUndefined();
  });
});
