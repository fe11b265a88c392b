/**
 * One log shape for every handler and the local runner: Powertools Logger's JSON lines (level, message,
 * timestamp, service, and in Lambda the request id and cold start), with the batch id on every line a batch
 * writes. kafkajs logs go through the same logger (kafka-log.ts, apart so that a consumer bundle carries no
 * kafkajs).
 * https://docs.powertools.aws.dev/lambda/typescript/latest/features/logger/
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import type { Context } from 'aws-lambda';
import { CONSUMER_MEMORY_MB } from '../../config';

/** A log line as the runtime writes it: a level, a message, and structured fields. */
export interface LogLine {
  readonly level?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly message?: string;
  readonly [field: string]: unknown;
}

export type LogFn = (line: LogLine) => void;

export interface LoggerOptions {
  /** The `service` of every line, e.g. `microbatch-sent-received`. */
  readonly serviceName: string;
  /**
   * The lowest level printed.
   * @default - POWERTOOLS_LOG_LEVEL or AWS_LAMBDA_LOG_LEVEL when set (Lambda's advanced logging controls), else INFO
   */
  readonly logLevel?: LogLevel;
}

export function createLogger(options: LoggerOptions): Logger {
  return new Logger({ serviceName: options.serviceName, logLevel: options.logLevel });
}

/**
 * The runtime's log function over a Powertools logger: the line's `level` and `message` become the logger's,
 * every other field stays a field of the JSON line.
 */
export function logTo(logger: Logger): LogFn {
  return ({ level = 'INFO', message = '', ...fields }) => {
    switch (level) {
      case 'DEBUG':
        return logger.debug(message, fields);
      case 'WARN':
        return logger.warn(message, fields);
      case 'ERROR':
        return logger.error(message, fields);
      default:
        return logger.info(message, fields);
    }
  };
}

/**
 * Runs one batch with its id on every line the logger writes meanwhile, and, when there is one, the Lambda
 * context's request id, function name and cold start. A failure is logged with the batch id before it goes
 * back to the event source, which retries the batch.
 */
export async function withBatchLogging<T>(
  logger: Logger,
  context: Context | undefined,
  run: (batchId: string, log: LogFn) => Promise<T>,
): Promise<T> {
  if (context) logger.addContext(context);
  const batchId = randomUUID();
  logger.appendKeys({ batchId });
  try {
    return await run(batchId, logTo(logger));
  } catch (error) {
    logger.error('the batch failed; the event source will retry it', error as Error);
    throw error;
  } finally {
    logger.removeKeys(['batchId']);
  }
}

/**
 * The context the local runner passes with each event, shaped like Lambda's, so that the log lines of a local
 * invocation carry a request id as in the cloud.
 */
export function localInvocationContext(
  functionName: string,
  options: {
    /** @default - 900,000 ms, Lambda's longest */
    readonly timeoutMs?: number;
    /** @default CONSUMER_MEMORY_MB - the memory the consumers deploy with */
    readonly memoryMb?: number;
  } = {},
): Context {
  const { timeoutMs = 900_000, memoryMb = CONSUMER_MEMORY_MB } = options;
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:local:lambda:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/local/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * For a process that runs batches side by side (the local runner's pollers): a child logger per invocation,
 * with that invocation's request id, function name and batch id on each of its lines, where the shared
 * logger's `appendKeys` would mix them up.
 */
export function invocationLogger(logger: Logger, context: Context, batchId: string): Logger {
  return logger.createChild({
    persistentKeys: {
      function_name: context.functionName,
      function_request_id: context.awsRequestId,
      batchId,
    },
  });
}
