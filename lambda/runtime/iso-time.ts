/**
 * ISO-8601 times as the command lines and the query APIs take them: a day of the calendar, then optionally a
 * time of day (minutes, seconds, a fraction) and a zone. `Date.parse` alone also reads '5' as the year 2005,
 * '2026-05-21junk' as June 5th (V8's fallback parser takes "jun" for June), and moves 2026-02-30 to March 2nd.
 */

/** The whole text: a date, then an optional time and zone; anything else is not taken. */
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** What the messages that refuse a time show as an example. */
export const ISO_TIME_EXAMPLE = '2026-05-21T02:20:00Z';

/** `YYYY-MM-DD`, a day of the calendar: not 2026-13-45, and not 2026-02-30. */
export function isCalendarDay(day: string): boolean {
  const t = Date.parse(`${day}T00:00:00Z`);
  return (
    /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === day
  );
}

/** Epoch milliseconds of such a time; NaN for any other text. */
export function isoTimeMs(raw: string): number {
  const match = ISO_TIME.exec(raw);
  return match && isCalendarDay(match[1]!) ? Date.parse(raw) : Number.NaN;
}
