/**
 * The tutorial's time format, `YYYY-MM-DD HH:MM:SS` in UTC (what Python's `str(datetime.now())[:19]` prints),
 * and ISO-8601 with milliseconds.
 */
/** `tutorial` is `YYYY-MM-DD HH:MM:SS` (UTC), `iso` is ISO-8601 with milliseconds. */
export type TimeFormat = 'tutorial' | 'iso';
export const TIME_FORMATS: readonly TimeFormat[] = ['tutorial', 'iso'];

const TUTORIAL = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function formatTime(date: Date, format: TimeFormat): string {
  const iso = date.toISOString();
  return format === 'iso' ? iso : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** Parses either format into epoch ms; `undefined` when the text is neither. */
export function parseTime(text: string): number | undefined {
  // Every record's value goes through here: try the tutorial's format only when the length can match it.
  const tutorial = text.length === 19 ? TUTORIAL.exec(text) : null;
  if (tutorial) {
    const [, y, mo, d, h, mi, s] = tutorial.map(Number) as number[];
    const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
    // Date.UTC rolls 2026-02-31 over into March; a real timestamp survives the round trip.
    return formatTime(new Date(ms), 'tutorial') === text ? ms : undefined;
  }
  if (ISO.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}
