import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PRODUCER_ENV } from '../../../config/env';
import {
  ProducerEventError,
  ProducerSendError,
  formatTutorialTime,
  makeHandler,
  messagesFor,
  parseScheduledEvent,
  planTicks,
  readProducerSettings,
  runSchedule,
  type Clock,
  type ProducerSettings,
} from '../../../lambda/handlers/producer';
import { MskConfigError } from '../../../lambda/runtime/msk-client';

/** What EventBridge sends on a `rate(1 minute)` rule. */
const SCHEDULED_EVENT = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-05-21T02:20:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/dev-producer'],
  detail: {},
};

const ENV = {
  [PRODUCER_ENV.topic]: 'test',
  [PRODUCER_ENV.ratePerSecond]: '2',
  [PRODUCER_ENV.durationSeconds]: '60',
};

/** A clock that jumps instead of sleeping, so a minute of producing takes no time. */
function fakeClock(startMs: number): Clock & { slept: number[] } {
  let now = startMs;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

function fakeProducer() {
  return {
    connect: vi.fn(async () => undefined),
    disconnect: vi.fn(async () => undefined),
    send: vi.fn(async (_record: { topic: string; messages: { value: string }[] }) => []),
  };
}

describe('parseScheduledEvent', () => {
  it('accepts an EventBridge scheduled event', () => {
    expect(parseScheduledEvent(structuredClone(SCHEDULED_EVENT))).toEqual({ time: '2026-05-21T02:20:00Z' });
  });

  it.each([
    ['a non-object', 'tick', /Expected an EventBridge scheduled event object/],
    ['another source', { ...SCHEDULED_EVENT, source: 'aws.s3' }, /received "aws.s3" and "Scheduled Event"/],
    [
      'a bad time',
      { ...SCHEDULED_EVENT, time: 'yesterday' },
      /Expected an ISO-8601 time, received "yesterday"/,
    ],
  ])('fails on %s', (_label, input, message) => {
    expect(() => parseScheduledEvent(input)).toThrow(ProducerEventError);
    expect(() => parseScheduledEvent(input)).toThrow(message);
  });
});

describe('readProducerSettings', () => {
  it('reads topic, rate and duration', () => {
    expect(readProducerSettings(ENV)).toEqual({ topic: 'test', ratePerSecond: 2, durationMs: 60_000 });
  });

  it.each([
    [PRODUCER_ENV.ratePerSecond, '0', /an integer from 1 to 100/],
    [PRODUCER_ENV.ratePerSecond, '1.5', /an integer from 1 to 100/],
    [PRODUCER_ENV.durationSeconds, '900', /an integer from 1 to 840/],
    [PRODUCER_ENV.topic, 'a b', /a Kafka topic name/],
  ])('fails when %s is %s, naming the variable', (name, value, message) => {
    const env = { ...ENV, [name]: value };
    expect(() => readProducerSettings(env)).toThrow(MskConfigError);
    expect(() => readProducerSettings(env)).toThrow(new RegExp(`Invalid ${name}`));
    expect(() => readProducerSettings(env)).toThrow(message);
  });
});

describe('formatTutorialTime', () => {
  it('prints YYYY-MM-DD HH:MM:SS in UTC, dropping the milliseconds', () => {
    expect(formatTutorialTime(new Date('2026-05-21T02:20:07.999Z'))).toBe('2026-05-21 02:20:07');
  });

  it('pads single digits', () => {
    expect(formatTutorialTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe('2026-01-02 03:04:05');
  });
});

describe('messagesFor', () => {
  it('repeats the current time rate times, without a key', () => {
    expect(messagesFor(new Date('2026-05-21T02:20:00Z'), 3)).toEqual([
      { value: '2026-05-21 02:20:00' },
      { value: '2026-05-21 02:20:00' },
      { value: '2026-05-21 02:20:00' },
    ]);
  });
});

describe('planTicks', () => {
  it('plans one tick per second for the whole duration', () => {
    const ticks = planTicks(0, 60_000, 75_000, 5_000);
    expect(ticks).toHaveLength(60);
    expect(ticks[0]).toBe(0);
    expect(ticks[59]).toBe(59_000);
  });

  it('stops before the Lambda deadline minus the margin', () => {
    expect(planTicks(0, 60_000, 20_000, 5_000)).toHaveLength(15);
  });

  it('plans nothing when the deadline is already too close', () => {
    expect(planTicks(0, 60_000, 5_500, 5_000)).toEqual([]);
  });
});

describe('runSchedule', () => {
  const settings: ProducerSettings = { topic: 'test', ratePerSecond: 2, durationMs: 3_000 };

  it('sends each tick at its second, rate messages a tick, to the topic', async () => {
    // Prepare
    const clock = fakeClock(Date.parse('2026-05-21T02:20:00.250Z'));
    const producer = fakeProducer();
    const start = clock.now();

    // Act
    const result = await runSchedule(producer, settings, [start, start + 1_000, start + 2_000], clock);

    // Assess
    expect(result).toEqual({ ticks: 3, messages: 6 });
    expect(producer.send.mock.calls.map(([r]) => r)).toEqual([
      { topic: 'test', messages: [{ value: '2026-05-21 02:20:00' }, { value: '2026-05-21 02:20:00' }] },
      { topic: 'test', messages: [{ value: '2026-05-21 02:20:01' }, { value: '2026-05-21 02:20:01' }] },
      { topic: 'test', messages: [{ value: '2026-05-21 02:20:02' }, { value: '2026-05-21 02:20:02' }] },
    ]);
    expect(clock.slept).toEqual([1_000, 1_000]);
  });
});

describe('handler', () => {
  beforeEach(() => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const context = { getRemainingTimeInMillis: () => 75_000 };

  it('connects, produces for the configured duration, and disconnects', async () => {
    // Prepare
    const producer = fakeProducer();
    const handler = makeHandler({
      logger: new Logger({ logLevel: 'SILENT' }),
      producer: () => producer,
      clock: fakeClock(0),
      env: ENV,
    });

    // Act
    const result = await handler(structuredClone(SCHEDULED_EVENT), context);

    // Assess
    expect(result).toEqual({ ticks: 60, messages: 120 });
    expect(producer.connect).toHaveBeenCalledTimes(1);
    expect(producer.disconnect).toHaveBeenCalledTimes(1);
  });

  it('fails with a typed error carrying the Kafka error as cause, and still disconnects', async () => {
    // Prepare
    const producer = fakeProducer();
    const cause = new Error('Broker: Topic authorization failed');
    producer.send.mockRejectedValue(cause);
    const handler = makeHandler({
      logger: new Logger({ logLevel: 'SILENT' }),
      producer: () => producer,
      clock: fakeClock(0),
      env: ENV,
    });

    // Act
    const error = await handler(structuredClone(SCHEDULED_EVENT), context).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ProducerSendError);
    expect((error as ProducerSendError).cause).toBe(cause);
    expect(producer.disconnect).toHaveBeenCalledTimes(1);
  });

  it('refuses an event that is not a schedule before connecting to Kafka', async () => {
    // Prepare
    const producer = fakeProducer();
    const handler = makeHandler({
      logger: new Logger({ logLevel: 'SILENT' }),
      producer: () => producer,
      clock: fakeClock(0),
      env: ENV,
    });

    // Act
    const attempt = handler({ hello: 'world' }, context);

    // Assess
    await expect(attempt).rejects.toThrow(ProducerEventError);
    expect(producer.connect).not.toHaveBeenCalled();
  });
});
