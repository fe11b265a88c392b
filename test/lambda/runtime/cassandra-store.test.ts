import { describe, expect, it } from 'vitest';
import { errors } from 'cassandra-driver';
import {
  classifyDriverError,
  isRetriableDriverError,
  mapBounded,
  withRetry,
} from '../../../lambda/runtime/cassandra-store';
import { SinkError } from '../../../lambda/runtime/errors';

const responseError = (code: number) => new errors.ResponseError(code, `code ${code}`);

describe('classifyDriverError', () => {
  it.each([
    ['a write timeout', responseError(0x1100), 'retry'],
    ['overload', responseError(0x1001), 'retry'],
    ['unavailable', responseError(0x1000), 'retry'],
    ['a client timeout', new errors.OperationTimedOutError('slow'), 'retry'],
    // What the driver throws when a socket closes after a non-idempotent request was written.
    [
      'a socket closed mid-request',
      new (errors.DriverError as unknown as new (message: string) => Error)('Socket was closed'),
      'retry',
    ],
    [
      'a value the server refuses',
      new errors.ResponseError(0x2200, 'Invalid null value in condition'),
      'record',
    ],
    ['a missing table', new errors.ResponseError(0x2200, 'unconfigured table sent_received'), 'fatal'],
    ['a missing permission', responseError(0x2100), 'fatal'],
    ['bad credentials', new errors.AuthenticationError('Authentication failed'), 'fatal'],
  ])('%s -> %s', (_name, error, expected) => {
    expect(classifyDriverError(error)).toBe(expected);
    expect(isRetriableDriverError(error)).toBe(expected === 'retry');
  });
});

describe('withRetry', () => {
  const fast = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

  it('retries a retriable error, then succeeds', async () => {
    let calls = 0;
    const result = await withRetry(
      'x',
      async () => {
        if (++calls < 3) throw responseError(0x1100);
        return 'ok';
      },
      fast,
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up after the attempts with a retriable SinkError that carries the cause', async () => {
    const error = await withRetry(
      'writing t',
      async () => {
        throw responseError(0x1001);
      },
      fast,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({
      retriable: true,
      message: expect.stringMatching(/writing t failed after 3 attempts/),
    });
    expect((error as SinkError).cause).toBeInstanceOf(errors.ResponseError);
  });

  it('does not retry a value the server refuses, and marks it for the dead letters', async () => {
    let calls = 0;
    const error = await withRetry(
      'x',
      async () => {
        calls++;
        throw responseError(0x2200);
      },
      fast,
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(error).toMatchObject({ retriable: false });
  });

  it('fails the batch on a configuration error instead of dead-lettering, saying what to fix', async () => {
    const error = await withRetry(
      'writing t',
      async () => {
        throw responseError(0x2100);
      },
      fast,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      retriable: true,
      message: expect.stringMatching(/Fix the configuration; the batch will be retried/),
    });
  });
});

describe('mapBounded', () => {
  it('keeps input order and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });

  it('after a failure starts nothing new, and fails only once every lane in flight has finished', async () => {
    // Prepare: item 1 fails at once; the lanes in flight finish later, as writes already sent would.
    const started: number[] = [];
    const finished: number[] = [];
    let rejectedAt: number[] | undefined;

    // Act
    await mapBounded([1, 2, 3, 4, 5, 6], 3, async (n) => {
      started.push(n);
      if (n === 1) throw new Error('throttled');
      await new Promise((r) => setTimeout(r, 20));
      finished.push(n);
    }).catch(() => (rejectedAt = [...finished]));

    // Assess
    expect(started).toEqual([1, 2, 3]);
    expect(rejectedAt).toEqual([2, 3]);
    await new Promise((r) => setTimeout(r, 50));
    expect(finished).toEqual([2, 3]);
  });
});
