/**
 * The tutorial's time format, `YYYY-MM-DD HH:MM:SS` in UTC (what Python's `str(datetime.now())[:19]` prints),
 * and ISO-8601 with milliseconds.
 */
import { option } from '../../../config/jobs';
import { isCalendarDay } from '../../runtime/iso-time';
import { MAX_EVENT_TIME_MS } from '../../runtime/windows';

/** `tutorial` is `YYYY-MM-DD HH:MM:SS` (UTC), `iso` is ISO-8601 with milliseconds. */
export type TimeFormat = 'tutorial' | 'iso';
export const TIME_FORMATS: readonly TimeFormat[] = ['tutorial', 'iso'];

const TUTORIAL = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function formatTime(date: Date, format: TimeFormat): string {
  const iso = date.toISOString();
  return format === 'iso' ? iso : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/**
 * The last whole second each format parsed, with its epoch ms (NaN when it is not a real time). A batch's values
 * arrive in send order, so at thousands of records a second nearly every value shares its second with the one
 * before: the memo turns the parse of each record (a regular expression, `Date.UTC` and a formatting round trip for
 * the tutorial's format, about 5 µs; a regular expression and `Date.parse` for ISO) into string comparisons (issue
 * 12's profile of the handler).
 */
let lastTutorial = { text: '', ms: Number.NaN };
/** An ISO time's `YYYY-MM-DDTHH:MM:SS` and zone (`Z` or `±HH:MM`): its fraction only adds milliseconds. */
let lastIso = { second: '', zone: '', ms: Number.NaN };

/**
 * A send time as producers write the current time: either format above, or RFC 3339 with a space or a `T`, a
 * fraction of up to 9 digits and a zone or none (UTC: Python's `str(datetime.now())`, `2026-05-21 02:20:03.250123`),
 * or epoch seconds with a fraction or none (Python's `str(time.time())`) or epoch milliseconds (Java's
 * `System.currentTimeMillis()`), or the shell's `date` and Java's `Date.toString()` in UTC or with a numeric offset
 * (`Tue Dec  1 11:00:00 UTC 2026`), into epoch ms; `undefined` when the text is none of these.
 */
export function parseTime(text: string): number | undefined {
  return parseTutorialOrIso(text) ?? otherSendTimeMs(text);
}

const EPOCH_SECONDS = /^\d{10}(\.\d{1,9})?$/;
const EPOCH_MILLISECONDS = /^\d{13}$/;

/** The other send times `parseTime` takes (no memo: the tutorial's producers and this project's write the two above). */
function otherSendTimeMs(text: string): number | undefined {
  let ms = Number.NaN;
  if (EPOCH_SECONDS.test(text)) {
    // By digits, not `Number(text) * 1000`: binary fractions would make .001 s 0.999 ms.
    const [seconds, fraction = ''] = text.split('.');
    ms = Number(seconds) * 1000 + Number(fraction.slice(0, 3).padEnd(3, '0'));
  } else if (EPOCH_MILLISECONDS.test(text)) ms = Number(text);
  else if (DATE_COMMAND.test(text)) ms = dateCommandMs(text);
  // A day alone is not a send time.
  else ms = eventTimeMs(text, { timeRequired: true });
  return Number.isNaN(ms) || ms > MAX_EVENT_TIME_MS ? undefined : ms;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * `date` (GNU and BSD, C locale; English locales add AM or PM) and Java's `Date.toString()`: weekday, month, day
 * (padded with a space by `date`), time, zone, year. Only UTC (`UTC`, `GMT`) or a numeric offset (`date +'%a %b %e
 * %T %z %Y'`): an abbreviation such as CET, IST or CST names different offsets in different places, so a time in
 * one would be guessed, not read.
 */
const DATE_COMMAND = new RegExp(
  `^(${WEEKDAYS.join('|')}) (${MONTHS.join('|')}) +(\\d{1,2}) (\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{1,9}))?` +
    '(?: ([AP]M))? (UTC|GMT|[+-]\\d{4}) (\\d{4})$',
);

/** Epoch ms of a `DATE_COMMAND` text; NaN when it names no real time (a 31st of November, a wrong weekday). */
function dateCommandMs(text: string): number {
  const [, weekday, month, day, hours, minutes, seconds, fraction = '', meridiem, zone, year] =
    DATE_COMMAND.exec(text)!;
  let h = Number(hours);
  if (meridiem !== undefined) {
    if (h < 1 || h > 12) return Number.NaN;
    h = (h % 12) + (meridiem === 'PM' ? 12 : 0);
  }
  const m = MONTHS.indexOf(month!);
  const local = Date.UTC(Number(year), m, Number(day), h, Number(minutes), Number(seconds));
  const at = new Date(local);
  // Date.UTC rolls a 31st of November over into December, and 25:00 into the next day: a real time does not roll.
  if (at.getUTCMonth() !== m || at.getUTCDate() !== Number(day) || at.getUTCHours() !== h) return Number.NaN;
  if (Number(minutes) > 59 || Number(seconds) > 59 || WEEKDAYS[at.getUTCDay()] !== weekday) return Number.NaN;
  const offsetMinutes =
    zone === 'UTC' || zone === 'GMT'
      ? 0
      : (zone!.startsWith('-') ? -1 : 1) * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(3)));
  return local - offsetMinutes * 60_000 + Number(fraction.slice(0, 3).padEnd(3, '0'));
}

/** The tutorial's format or ISO with a zone; `undefined` for any other text, or an impossible time. */
function parseTutorialOrIso(text: string): number | undefined {
  // Every record's value goes through here: try the tutorial's format only when the length can match it.
  if (text.length === 19 && text.charCodeAt(10) === 32 /* space */) {
    if (text !== lastTutorial.text) lastTutorial = { text, ms: parseTutorial(text) };
    return Number.isNaN(lastTutorial.ms) ? undefined : lastTutorial.ms;
  }
  const { second, zone } = lastIso;
  if (second && text.startsWith(second) && text.endsWith(zone)) {
    const fraction = fractionMs(text, text.length - zone.length);
    if (fraction >= 0) return Number.isNaN(lastIso.ms) ? undefined : lastIso.ms + fraction;
  }
  if (!ISO.test(text)) return undefined;
  const ownZone = text.endsWith('Z') ? 'Z' : text.slice(-6);
  const ownSecond = text.slice(0, 19);
  lastIso = { second: ownSecond, zone: ownZone, ms: Date.parse(`${ownSecond}${ownZone}`) };
  return Number.isNaN(lastIso.ms) ? undefined : lastIso.ms + fractionMs(text, text.length - ownZone.length);
}

/**
 * The milliseconds of an ISO time's fraction, which runs from index 19 to `end`: nothing, or a dot and 1 to 9
 * digits, of which V8 takes the first three. -1 when it is not that.
 */
function fractionMs(text: string, end: number): number {
  if (end === 19) return 0;
  const digits = end - 20;
  if (digits < 1 || digits > 9 || text.charCodeAt(19) !== 46 /* . */) return -1;
  let ms = 0;
  for (let i = 20; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    if (i < 23) ms = ms * 10 + digit;
  }
  for (let i = digits; i < 3; i++) ms *= 10;
  return ms;
}

function parseTutorial(text: string): number {
  const tutorial = TUTORIAL.exec(text);
  if (!tutorial) return Number.NaN;
  const [, y, mo, d, h, mi, s] = tutorial.map(Number) as number[];
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  // Date.UTC rolls 2026-02-31 over into March; a real timestamp survives the round trip.
  return formatTime(new Date(ms), 'tutorial') === text ? ms : Number.NaN;
}

/**
 * A date-time as producers write one: ISO-8601, or RFC 3339's form of it with a space between date and time
 * (https://www.rfc-editor.org/rfc/rfc3339#section-5.6), which is also the tutorial's format; a zone as `Z`,
 * `±hh:mm`, `±hhmm` or `±hh`.
 */
const EVENT_TIME =
  /^(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * Epoch milliseconds of such a text; NaN for any other. A time without a zone is UTC, the tutorial's zone: read in
 * the machine's, as `Date.parse` would, a local run on a machine off UTC would put readings in other windows than
 * Lambda, whose zone is UTC. With `timeRequired`, a day alone is NaN too.
 */
function eventTimeMs(text: string, options: { readonly timeRequired?: boolean } = {}): number {
  const match = EVENT_TIME.exec(text);
  if (!match || !isCalendarDay(match[1]!)) return Number.NaN;
  const [, day, time, zone] = match;
  if (time === undefined) return options.timeRequired ? Number.NaN : Date.parse(`${day}T00:00:00Z`);
  const offset =
    zone === undefined || zone === 'z' || zone === 'Z'
      ? 'Z'
      : zone.length === 3
        ? `${zone}:00`
        : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  return Date.parse(`${day}T${time}${offset}`);
}

/**
 * An event time as the example jobs accept it: epoch milliseconds (a non-negative safe integer) or an ISO-8601
 * string (a day of the calendar, then optionally a time and a zone; see `EVENT_TIME`), parsed once; `undefined`
 * when it is neither. Not `Date.parse` alone: its fallback parser reads '5' as the year 2005 and 'March 7' as
 * March 7th 2001, so a malformed reading would be folded into a window of another year (or dead-lettered as
 * late) instead of being dead-lettered for its `ts`.
 */
export function epochMs(ts: unknown): number | undefined {
  // Beyond the latest time a Date holds, no window or timestamp can be computed.
  if (typeof ts === 'number')
    return Number.isSafeInteger(ts) && ts >= 0 && ts <= MAX_EVENT_TIME_MS ? ts : undefined;
  if (typeof ts !== 'string') return undefined;
  const ms = eventTimeMs(ts);
  return ms >= 0 && ms <= MAX_EVENT_TIME_MS ? ms : undefined;
}

/** What `epochMs` takes, for the messages of the jobs that refuse a `ts`. */
export const EVENT_TIME_EXPECTED =
  'expected epoch milliseconds from 0 (1970-01-01) or an ISO-8601 time from 1970 on, such as 2026-05-21T02:20:00Z (without a zone, UTC)';

/** A `ts` as a message quotes it: JSON, cut at 60 characters. */
export function shownTs(ts: unknown): string {
  const text = JSON.stringify(ts) ?? String(ts);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The window jobs' `maxEventTimeAheadSeconds` option: 0, its default, for no limit. */
export const MAX_EVENT_TIME_AHEAD_OPTION = option.int({
  default: 0,
  min: 0,
  max: 31_536_000,
  doc: 'Dead-letter (as future) a record whose event time is more than this ahead of its Kafka timestamp, instead of moving the watermark there; 0 for no limit',
});

/** `WindowJob.maxEventTimeAheadMs` of that option's seconds, to spread into `defineWindowJob`'s spec. */
export function maxEventTimeAhead(seconds: number | undefined): { maxEventTimeAheadMs?: number } {
  return seconds ? { maxEventTimeAheadMs: seconds * 1000 } : {};
}
