import { describe, expect, it } from 'vitest';
import { isCalendarDay, isoTimeMs } from '../../../lambda/runtime/iso-time';

describe('isoTimeMs', () => {
  it.each([
    ['a UTC time', '2026-05-21T02:20:00Z', Date.UTC(2026, 4, 21, 2, 20)],
    ['a fraction', '2026-05-21T02:20:00.250Z', Date.UTC(2026, 4, 21, 2, 20, 0, 250)],
    ['an offset', '2026-05-21T04:20:00+02:00', Date.UTC(2026, 4, 21, 2, 20)],
    ['minutes without seconds', '2026-05-21T02:20Z', Date.UTC(2026, 4, 21, 2, 20)],
    ['a day alone, midnight UTC', '2026-05-21', Date.UTC(2026, 4, 21)],
    ['the last day of a leap February', '2028-02-29', Date.UTC(2028, 1, 29)],
  ])('takes %s', (_case, text, ms) => {
    expect(isoTimeMs(text)).toBe(ms);
  });

  it.each([
    ['a bare number, which Date.parse reads as a year', '5'],
    ['a month name', 'May 5'],
    ['text after the day, which V8 reads as June', '2026-05-21junk'],
    ['a 12-hour clock', '2026-05-21 02:20 PM'],
    ['February 30, which Date.parse moves to March 2', '2026-02-30T00:00:00Z'],
    ['a 13th month', '2026-13-01'],
    ['a zone without its colon', '2026-05-21T02:20:00+0200'],
  ])('refuses %s', (_case, text) => {
    expect(isoTimeMs(text)).toBeNaN();
  });
});

describe('isCalendarDay', () => {
  it('GIVEN days on and off the calendar THEN only those on it', () => {
    expect(['2026-05-21', '2028-02-29'].map(isCalendarDay)).toEqual([true, true]);
    expect(['2026-02-29', '2026-04-31', '2026-5-21', '2026-05-21T00:00:00Z'].map(isCalendarDay)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
