/**
 * kafkajs logs through the project's logger (log.ts), for the clients that use kafkajs: the local runner, the
 * producer and the topic admin.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { logLevel as KafkaLogLevel, type logCreator } from './kafkajs';
import { logTo } from './log';

/**
 * kafkajs logs the normal life of a consumer group as errors: during a rebalance (a runner joining, leaving or
 * restarted) every heartbeat and commit gets REBALANCE_IN_PROGRESS or an unknown member id, and the consumer
 * re-joins by itself. Those lines are INFO here; a connection lost during a broker restart, which kafkajs
 * retries, is WARN; the rest keep their level.
 * https://kafka.js.org/docs/custom-logger
 */
// By type and by the message kafkajs gives each error (kafkajs/src/protocol/error.js), since its log lines carry
// the message only.
const REBALANCE = new RegExp(
  [
    'REBALANCE_IN_PROGRESS',
    'UNKNOWN_MEMBER_ID',
    'ILLEGAL_GENERATION',
    'MEMBER_ID_REQUIRED',
    'rebalanc',
    're-joining',
    'not aware of this member',
    'generation id is not valid',
    'needs to have a valid member id',
  ].join('|'),
  'i',
);
const RETRIED = new RegExp(
  [
    'ECONNREFUSED',
    'ECONNRESET',
    'Connection (timeout|error|closed)',
    'Closed connection',
    'NOT_COORDINATOR',
    'COORDINATOR_NOT_AVAILABLE',
    'LOAD_IN_PROGRESS',
    'LEADER_NOT_AVAILABLE',
    'NOT_LEADER',
    'not the correct coordinator',
    'coordinator is not available',
    'coordinator is loading',
    'leader (is )?not available',
    'KafkaJSNumberOfRetriesExceeded',
  ].join('|'),
  'i',
);

export function kafkaLevel(level: KafkaLogLevel, text: string): 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' {
  if (level === KafkaLogLevel.ERROR || level === KafkaLogLevel.WARN) {
    if (REBALANCE.test(text)) return 'INFO';
    if (RETRIED.test(text)) return 'WARN';
    return level === KafkaLogLevel.ERROR ? 'ERROR' : 'WARN';
  }
  return level === KafkaLogLevel.INFO ? 'INFO' : 'DEBUG';
}

/** A kafkajs `logCreator` that writes through `logger`, at the levels `kafkaLevel` gives. */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      // kafkajs's own timestamp and logger name: Powertools writes its own timestamp and service.
      const fields: Record<string, unknown> = { ...log };
      delete fields['timestamp'];
      delete fields['logger'];
      delete fields['message'];
      const message = log.message;
      const error = typeof fields['error'] === 'string' ? fields['error'] : '';
      logTo(logger)({
        level: kafkaLevel(level, `${message} ${error}`),
        message: `kafkajs ${namespace}: ${message}`,
        kafkajs: fields,
      });
    };
}
