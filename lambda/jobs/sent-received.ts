/**
 * sent-received, the tutorial: each value on topic `test` is the time it was sent; the job stores
 * `(time_sent, time_received)` in `sent_received`, where `time_received` is the micro-batch's processing time.
 */
import { SENT_RECEIVED, TEST_TOPIC } from '../../schema';
import { option } from '../../config/jobs';
import { utf8 } from '../runtime/decoders';
import { quotedValue, RecordError } from '../runtime/errors';
import { handlerFor } from '../runtime/handler';
import { defineJob, defineTransformJob, type TransformJob } from '../runtime/job';
import { formatTime, parseTime, TIME_FORMATS, type TimeFormat } from './shared/time-format';

/** The job's code, for its definition below and for tests that run it under another name or topic. */
export function createSentReceivedJob(
  config: { readonly timeFormat: TimeFormat; readonly failOnDataLoss: boolean },
  overrides: { readonly name?: string; readonly topics?: readonly string[] } = {},
): TransformJob<string> {
  let received: { at: Date | undefined; text: string } = { at: undefined, text: '' };
  return defineTransformJob({
    name: overrides.name ?? 'sent-received',
    topics: overrides.topics ?? [TEST_TOPIC.name],
    decoder: utf8(),
    sinkTables: [SENT_RECEIVED],
    failOnDataLoss: config.failOnDataLoss,
    transform: (value, { processingTime }) => {
      // Every record of a batch shares its processing time: format it once per batch, not once per record.
      if (processingTime !== received.at)
        received = { at: processingTime, text: formatTime(processingTime, config.timeFormat) };
      const timeSent = sendTimeText(value);
      if (parseTime(timeSent) === undefined) {
        throw new RecordError(
          'schema',
          `The value ${quotedValue(timeSent)} is not a send time: expected 'YYYY-MM-DD HH:MM:SS' (UTC), ` +
            "ISO-8601 or RFC 3339 (without a zone, UTC), epoch seconds or milliseconds, or the shell's `date` " +
            "in UTC or with a numeric offset ('Tue Dec  1 11:00:00 UTC 2026'; a zone such as CET is ambiguous).",
        );
      }
      return [
        {
          table: SENT_RECEIVED,
          values: { time_sent: timeSent, time_received: received.text },
        },
      ];
    },
  });
}

/**
 * The send time a record's value carries: its text without surrounding whitespace (a line from a console producer
 * keeps its newline), or, when the value is a JSON string (a producer with a JSON serializer, such as kafka-python's
 * `value_serializer=json.dumps`, sends `"2026-12-01 11:00:00.123456"` with its quotes), that string.
 */
export function sendTimeText(value: string): string {
  const text = value.trim();
  if (text.length < 2 || text.charCodeAt(0) !== 34 || text.charCodeAt(text.length - 1) !== 34) return text;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'string' ? parsed.trim() : text;
  } catch {
    return text;
  }
}

const sentReceived = defineJob({
  name: 'sent-received',
  doc: 'The tutorial: stores (time_sent, time_received) for every record of topic test.',
  kind: 'transform',
  topics: [TEST_TOPIC],
  tables: [SENT_RECEIVED],
  options: {
    timeFormat: option.oneOf({
      default: 'tutorial',
      values: TIME_FORMATS,
      doc: '`tutorial` is YYYY-MM-DD HH:MM:SS (UTC), `iso` is ISO-8601 with milliseconds',
    }),
  },
  create: (config) =>
    createSentReceivedJob({ timeFormat: config.options.timeFormat, failOnDataLoss: config.failOnDataLoss }),
  // The tutorial's producer: the current time, once a second.
  sample: { ratePerSecond: 1, make: (_seq, now) => ({ value: formatTime(now, 'tutorial') }) },
});

export default sentReceived;
/** The Lambda entry point of the job. */
export const handler = handlerFor(sentReceived);
