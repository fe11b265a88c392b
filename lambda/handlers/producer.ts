/**
 * The scheduled producer of the tutorial: EventBridge invokes it every minute, and for about 60 s it sends the
 * current time, `ratePerSecond` times each second, to topic `test`, as text in the tutorial's format
 * `YYYY-MM-DD HH:MM:SS` (UTC).
 *
 * The handler checks the event at the boundary, reads its settings from the environment, then runs the pure
 * schedule (`planTicks`, `messagesFor`) against a kafkajs producer it connects and always disconnects itself.
 */
import type { Context } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Message, Producer } from 'kafkajs';
import { createLogger } from '../runtime/log';
import { PRODUCER_ENV } from '../../config/env';
import { TOPIC_NAME } from '../../schema';
import { createMskKafka, MskConfigError } from '../runtime/msk-client';

export class ProducerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The invocation is not an EventBridge scheduled event. */
export class ProducerEventError extends ProducerError {}

/** Sending to Kafka failed; the next scheduled run starts afresh. */
export class ProducerSendError extends ProducerError {}

export interface ScheduledEvent {
  /** The scheduled time, ISO-8601. */
  readonly time: string;
}

/**
 * Accepts only EventBridge's scheduled events (`source: aws.events`, `detail-type: Scheduled Event`).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
 */
export function parseScheduledEvent(event: unknown): ScheduledEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new ProducerEventError('Expected an EventBridge scheduled event object');
  }
  const e = event as Record<string, unknown>;
  if (e['source'] !== 'aws.events' || e['detail-type'] !== 'Scheduled Event') {
    throw new ProducerEventError(
      `Expected source "aws.events" and detail-type "Scheduled Event", received ` +
        `${JSON.stringify(e['source'])} and ${JSON.stringify(e['detail-type'])}`,
    );
  }
  const time = e['time'];
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) {
    throw new ProducerEventError(`Expected an ISO-8601 time, received ${JSON.stringify(time)}`);
  }
  return { time };
}

export interface ProducerSettings {
  readonly topic: string;
  readonly ratePerSecond: number;
  /** How long one invocation produces; the schedule fires again after it. */
  readonly durationMs: number;
}

function intFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  min: number,
  max: number,
): number {
  const raw = env[name];
  const n = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new MskConfigError(name, raw, `an integer from ${min} to ${max}`);
  }
  return n;
}

export function readProducerSettings(env: Readonly<Record<string, string | undefined>>): ProducerSettings {
  const topic = env[PRODUCER_ENV.topic];
  if (topic === undefined || !TOPIC_NAME.test(topic)) {
    throw new MskConfigError(PRODUCER_ENV.topic, topic, 'a Kafka topic name');
  }
  return {
    topic,
    ratePerSecond: intFromEnv(env, PRODUCER_ENV.ratePerSecond, 1, 100),
    durationMs: intFromEnv(env, PRODUCER_ENV.durationSeconds, 1, 840) * 1_000,
  };
}

/** The tutorial's format: `YYYY-MM-DD HH:MM:SS`, UTC (Python's `str(datetime.utcnow())[:19]`). */
export function formatTutorialTime(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** The messages of one tick: the current time, `rate` times. No key, so the partitioner spreads them. */
export function messagesFor(now: Date, rate: number): Message[] {
  const value = formatTutorialTime(now);
  return Array.from({ length: rate }, () => ({ value }));
}

/**
 * The start times (epoch ms) of the ticks of one run: one per second from `startMs`, while the tick still
 * ends before `durationMs` and before the Lambda deadline minus `marginMs`.
 */
export function planTicks(
  startMs: number,
  durationMs: number,
  remainingMs: number,
  marginMs: number,
): number[] {
  const endMs = startMs + Math.min(durationMs, remainingMs - marginMs);
  const ticks: number[] = [];
  for (let t = startMs; t + 1_000 <= endMs; t += 1_000) ticks.push(t);
  return ticks;
}

export interface RunResult {
  readonly ticks: number;
  readonly messages: number;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Sends each tick's messages at its second; a tick never starts early, and a late one is sent at once. */
export async function runSchedule(
  producer: Pick<Producer, 'send'>,
  settings: ProducerSettings,
  ticks: readonly number[],
  clock: Clock,
): Promise<RunResult> {
  let messages = 0;
  for (const tick of ticks) {
    const wait = tick - clock.now();
    if (wait > 0) await clock.sleep(wait);
    const batch = messagesFor(new Date(clock.now()), settings.ratePerSecond);
    await producer.send({ topic: settings.topic, messages: batch });
    messages += batch.length;
  }
  return { ticks: ticks.length, messages };
}

/** Stop this long before the Lambda deadline, to disconnect cleanly. */
const DEADLINE_MARGIN_MS = 5_000;

export interface ProducerDeps {
  readonly logger: Logger;
  readonly producer: () => Pick<Producer, 'connect' | 'disconnect' | 'send'>;
  readonly clock: Clock;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function makeHandler(
  deps: ProducerDeps,
): (event: unknown, context: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<RunResult> {
  return async (event, context) => {
    parseScheduledEvent(event);
    const settings = readProducerSettings(deps.env);
    const ticks = planTicks(
      deps.clock.now(),
      settings.durationMs,
      context.getRemainingTimeInMillis(),
      DEADLINE_MARGIN_MS,
    );
    const producer = deps.producer();
    try {
      await producer.connect();
      const result = await runSchedule(producer, settings, ticks, deps.clock);
      deps.logger.info('produced', { topic: settings.topic, ...result });
      return result;
    } catch (error) {
      throw new ProducerSendError(`Producing to '${settings.topic}' failed`, { cause: error });
    } finally {
      await producer.disconnect();
    }
  };
}

const logger = createLogger({ serviceName: 'microbatch-producer' });

export const handler = makeHandler({
  logger,
  // No auto-creation: the topic-admin custom resource owns the topics.
  producer: () =>
    createMskKafka('microbatch-producer', process.env, logger).producer({ allowAutoTopicCreation: false }),
  clock: systemClock,
  env: process.env,
});
