/**
 * The tutorial job: each value on topic `test` is the time it was sent; the job stores
 * `(time_sent, time_received)` in `sent_received`, where `time_received` is the micro-batch's processing time.
 */
import { SENT_RECEIVED, TEST_TOPIC } from '../../schema';
import type { SentReceivedConfig } from '../../config';
import { utf8 } from '../runtime/decoders';
import { RecordError } from '../runtime/errors';
import { defineTransformJob, type TransformJob } from '../runtime/job';
import { formatTime, parseTime } from './time-format';

export function createSentReceivedJob(
  config: Pick<SentReceivedConfig, 'timeFormat' | 'failOnDataLoss'>,
  overrides: { readonly name?: string; readonly topics?: readonly string[] } = {},
): TransformJob<string> {
  return defineTransformJob({
    name: overrides.name ?? 'sent-received',
    topics: overrides.topics ?? [TEST_TOPIC.name],
    decoder: utf8(),
    sinkTables: [SENT_RECEIVED],
    failOnDataLoss: config.failOnDataLoss,
    transform: (value, { processingTime }) => {
      const timeSent = value.trim();
      if (parseTime(timeSent) === undefined) {
        throw new RecordError(
          'schema',
          `The value ${JSON.stringify(timeSent.slice(0, 40))} is not a send time: expected 'YYYY-MM-DD HH:MM:SS' (UTC) or ISO-8601.`,
        );
      }
      return [
        {
          table: SENT_RECEIVED,
          values: { time_sent: timeSent, time_received: formatTime(processingTime, config.timeFormat) },
        },
      ];
    },
  });
}
