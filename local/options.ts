/**
 * Option parsers for the command lines (`microbatch`, the services' own entry, the fault suite, the bench):
 * each checks its value when the command line is parsed, before anything starts, and says what it expected.
 * https://github.com/tj/commander.js#custom-option-processing
 */
import { InvalidArgumentError } from 'commander';
import { closest } from '../config';
import { TOPIC_NAME } from '../schema/topics';
import { ISO_TIME_EXAMPLE, isoTimeMs } from '../lambda/runtime/iso-time';

/** An integer from `min` to `max`, in decimal digits (Number() alone would read 0x1000, 1e3 or 0b1 too). */
export function integer(
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): (raw: string, previous?: unknown) => number {
  return (raw) => {
    const n = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer of at least ${min}.`
          : `expected an integer from ${min} to ${max}.`,
      );
    }
    return n;
  };
}

/** A number greater than zero (a rate). */
export function positiveNumber(raw: string): number {
  const n = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number greater than 0.');
  return n;
}

/** An ISO-8601 time, e.g. 2026-05-21T02:20:00Z. */
export function isoTime(raw: string): Date {
  const ms = isoTimeMs(raw);
  if (Number.isNaN(ms))
    throw new InvalidArgumentError(
      `expected an ISO-8601 time on a day of the calendar, such as ${ISO_TIME_EXAMPLE}.`,
    );
  return new Date(ms);
}

/** `earliest`, or an ISO-8601 time. */
export function earliestOrTime(raw: string): Date | 'earliest' {
  if (raw === 'earliest') return 'earliest';
  try {
    return isoTime(raw);
  } catch {
    throw new InvalidArgumentError("expected 'earliest' or an ISO-8601 time such as 2026-05-21T02:20:00Z.");
  }
}

/** A repeatable `key=value` (the config overrides of `-c`, as with `cdk -c`). */
export function keyValue(raw: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = raw.indexOf('=');
  if (eq <= 0)
    throw new InvalidArgumentError('expected key=value, e.g. -c jobs.sent-received.batchSize=500.');
  return { ...previous, [raw.slice(0, eq)]: raw.slice(eq + 1) };
}

/** A comma-separated list, each item checked by `item`. */
export function listOf<T>(item: (raw: string) => T): (raw: string) => T[] {
  return (raw) =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        try {
          return item(s);
        } catch (error) {
          throw new InvalidArgumentError(`'${s}': ${(error as Error).message}`);
        }
      });
}

/** One of `values`, with the closest one suggested on a typo. */
export function oneOf<V extends string>(values: readonly V[]): (raw: string) => V {
  return (raw) => {
    if ((values as readonly string[]).includes(raw)) return raw as V;
    const guess = closest(raw, values);
    throw new InvalidArgumentError(
      `expected one of ${values.join(', ')}${guess ? ` (did you mean '${guess}'?)` : ''}.`,
    );
  };
}

/** A Kafka topic name (the rule Kafka itself applies). */
export function topicName(raw: string): string {
  if (!TOPIC_NAME.test(raw) || raw === '.' || raw === '..')
    throw new InvalidArgumentError(
      'expected a Kafka topic name: 1 to 249 of the characters a-z, A-Z, 0-9, ".", "_" and "-".',
    );
  return raw;
}
