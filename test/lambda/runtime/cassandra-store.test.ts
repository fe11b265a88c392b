import { describe, expect, it } from 'vitest';
import { errors, type Client } from 'cassandra-driver';
import {
  CassandraCheckpointStore,
  CassandraSinkStore,
  MAX_BATCH_VALUE_BYTES,
  classifyDriverError,
  isRetriableDriverError,
  lastWritePerRow,
  mapBounded,
  planWriteGroups,
  withRetry,
} from '../../../lambda/runtime/cassandra-store';
import { SinkError } from '../../../lambda/runtime/errors';
import { processPartition } from '../../../lambda/runtime/checkpoint';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { MemorySinkStore } from '../../support/memory-store';
import type { SinkWrite } from '../../../lambda/runtime/store';
import { DEAD_LETTERS, SENSOR_STATS, SENT_RECEIVED } from '../../../schema';

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
    // The driver's encoders throw these for a value a column cannot hold (a Date out of range, NaN for a bigint).
    ['a value the driver cannot encode', new TypeError('Invalid date'), 'record'],
    ['a number out of a type range', new RangeError('out of range'), 'record'],
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

const row = (
  i: number,
  timeSent = `2026-11-21T05:02:${String(i % 60).padStart(2, '0')}.${String(i).padStart(6, '0')}Z`,
): SinkWrite => ({
  table: SENT_RECEIVED,
  values: { time_sent: timeSent, time_received: '2026-11-21T05:03:00.000Z' },
  offset: BigInt(i),
});
const letter = (i: number): SinkWrite => ({
  table: DEAD_LETTERS,
  values: { job: 'j', reason: 'schema', payload: 'x', kafka_offset: BigInt(i) },
  offset: BigInt(i),
});

describe('planWriteGroups', () => {
  const statementOf = (t: { name: string }) => `INSERT INTO ${t.name}`;

  it('cuts rows of one table into requests of at most maxStatements, in input order', () => {
    const writes = Array.from({ length: 65 }, (_, i) => row(i));
    const groups = planWriteGroups(writes, statementOf, 30);
    expect(groups.map((g) => g.writes.length)).toEqual([30, 30, 5]);
    expect(groups.flatMap((g) => g.writes)).toEqual(writes);
    expect(groups[0]!.params[0]).toEqual([writes[0]!.values.time_sent, writes[0]!.values.time_received]);
    expect(new Set(groups.map((g) => g.cql))).toEqual(new Set(['INSERT INTO sent_received']));
  });

  it('never mixes two tables in one request', () => {
    const writes = [row(0), letter(1), row(2), letter(3), row(4)];
    const groups = planWriteGroups(writes, statementOf, 30);
    expect(groups.map((g) => [g.cql, g.writes.map((w) => Number(w.offset))])).toEqual([
      ['INSERT INTO sent_received', [0, 2, 4]],
      ['INSERT INTO dead_letters', [1, 3]],
    ]);
  });

  it("keeps each request's values under the byte bound, and sends a larger row alone", () => {
    const big = row(1, 'x'.repeat(MAX_BATCH_VALUE_BYTES + 1));
    const mid = row(2, 'y'.repeat(MAX_BATCH_VALUE_BYTES / 2));
    const groups = planWriteGroups([row(0), big, mid, mid, row(3)], statementOf, 30);
    expect(groups.map((g) => g.writes.map((w) => Number(w.offset)))).toEqual([[0], [1], [2], [2, 3]]);
  });
});

describe('lastWritePerRow', () => {
  /** A sent_received row of offset `i` for send time `sent`, received at `received`. */
  const at = (i: number, sent: string, received: string): SinkWrite => ({
    table: SENT_RECEIVED,
    values: { time_sent: sent, time_received: received },
    offset: BigInt(i),
  });

  it('keeps the last write of each primary key, and what it supersedes, in offset order', () => {
    const writes = [at(0, 'a', 'z'), at(1, 'b', 'y'), at(2, 'a', 'x'), at(3, 'a', 'w'), letter(4)];
    const { last, earlier } = lastWritePerRow(writes);
    expect(last.map((w) => Number(w.offset))).toEqual([1, 3, 4]);
    expect(earlier.get(writes[3]!)?.map((w) => Number(w.offset))).toEqual([0, 2]);
  });

  it('tells keys apart by type: a bigint, a Date and a string of the same digits are three rows', () => {
    const table = { ...SENT_RECEIVED, partitionKey: ['k'], clustering: [] };
    const w = (i: number, k: unknown): SinkWrite => ({ table, values: { k }, offset: BigInt(i) });
    expect(lastWritePerRow([w(0, 5n), w(1, new Date(5)), w(2, '5'), w(3, 5n)]).last).toHaveLength(3);
  });

  it('tells apart two-column keys whose text holds the separator', () => {
    const table = { ...SENT_RECEIVED, partitionKey: ['a', 'b'], clustering: [] };
    const w = (i: number, a: string, b: string): SinkWrite => ({
      table,
      values: { a, b },
      offset: BigInt(i),
    });
    expect(lastWritePerRow([w(0, 'x\u0000sy', 'z'), w(1, 'x', 'y\u0000sz')]).last).toHaveLength(2);
  });

  it('GIVEN no key written twice THEN sends the writes as they are', () => {
    const writes = [row(0), row(1), letter(2)];
    expect(lastWritePerRow(writes)).toEqual({ last: writes, earlier: new Map() });
  });
});

describe('CassandraSinkStore.write', () => {
  /** A client that records every request and answers as `answer` says. */
  function fakeClient(answer: (kind: 'execute' | 'batch', params: unknown[][]) => Error | undefined) {
    const requests: Array<{ kind: 'execute' | 'batch'; rows: number; options: Record<string, unknown> }> = [];
    const client = {
      execute: async (_q: string, params: unknown[], options: Record<string, unknown>) => {
        requests.push({ kind: 'execute', rows: 1, options });
        const error = answer('execute', [params]);
        if (error) throw error;
        return {};
      },
      batch: async (
        queries: Array<{ query: string; params: unknown[] }>,
        options: Record<string, unknown>,
      ) => {
        requests.push({ kind: 'batch', rows: queries.length, options });
        const error = answer(
          'batch',
          queries.map((q) => q.params),
        );
        if (error) throw error;
        return {};
      },
    } as unknown as Client;
    return { client, requests };
  }
  const fast = { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 };

  it('sends the rows as unlogged, prepared, idempotent batches of at most 30 unconditional upserts', async () => {
    const { client, requests } = fakeClient(() => undefined);
    const sink = new CassandraSinkStore(client, 'ks', { retry: fast });
    const rejected = await sink.write(Array.from({ length: 61 }, (_, i) => row(i)));
    expect(rejected).toEqual([]);
    expect(requests.map((r) => [r.kind, r.rows])).toEqual([
      ['batch', 30],
      ['batch', 30],
      ['execute', 1],
    ]);
    expect(requests[0]!.options).toEqual({ prepare: true, logged: false, isIdempotent: true });
    expect(requests[2]!.options).toEqual({ isIdempotent: true });
  });

  it('writes the rows of a batch the server refuses one by one, so that only the refused rows are dead-lettered', async () => {
    // GIVEN a server that refuses one value for good (an invalid request that is not about the schema)
    const bad = row(7).values.time_sent;
    const { client, requests } = fakeClient((_kind, params) =>
      params.some((p) => p[0] === bad) ? new errors.ResponseError(0x2200, 'Invalid value') : undefined,
    );
    const sink = new CassandraSinkStore(client, 'ks', { retry: fast });

    // WHEN a batch carries it
    const rejected = await sink.write(Array.from({ length: 10 }, (_, i) => row(i)));

    // THEN the batch is tried once, then each of its rows alone, and only that row is rejected
    expect(requests.map((r) => r.kind)).toEqual(['batch', ...Array<string>(10).fill('execute')]);
    expect(rejected.map((r) => r.write.offset)).toEqual([7n]);
    expect(rejected[0]!.error.retriable).toBe(false);
  });

  it('fails the batch on a transient error, after its retries, once every request in flight has settled', async () => {
    let inFlight = 0;
    let settledBeforeFailure = true;
    const client = {
      batch: async () => {
        inFlight++;
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        throw new errors.ResponseError(0x1100, 'write timeout');
      },
      execute: async () => ({}),
    } as unknown as Client;
    const sink = new CassandraSinkStore(client, 'ks', { retry: fast, writeConcurrency: 4 });
    const error = await sink.write(Array.from({ length: 200 }, (_, i) => row(i))).catch((e: unknown) => {
      settledBeforeFailure = inFlight === 0;
      return e;
    });
    expect(error).toBeInstanceOf(SinkError);
    expect((error as SinkError).retriable).toBe(true);
    expect(settledBeforeFailure).toBe(true);
  });

  it('refuses a batch size Keyspaces would refuse, saying the quota', () => {
    const client = {} as Client;
    expect(() => new CassandraSinkStore(client, 'ks', { batchStatements: 31 })).toThrow(
      /batchStatements must be an integer from 1 to 30 \(Keyspaces' quota for an unlogged batch\), received 31/,
    );
    expect(() => new CassandraSinkStore(client, 'ks', { writeConcurrency: 0 })).toThrow(/writeConcurrency/);
  });

  it('sends one write per row, the last: in one batch, Cassandra would keep the greater value, not the later', async () => {
    // GIVEN three writes of one row, the last with the smallest value
    const sent: unknown[][] = [];
    const { client } = fakeClient((_kind, params) => void sent.push(...params));
    const same = (i: number, received: string): SinkWrite => ({
      table: SENT_RECEIVED,
      values: { time_sent: 't', time_received: received },
      offset: BigInt(i),
    });

    // WHEN
    await new CassandraSinkStore(client, 'ks', { retry: fast }).write([same(0, 'c'), row(1), same(2, 'b')]);

    // THEN
    expect(sent.filter((p) => p[0] === 't')).toEqual([['t', 'b']]);
  });

  it("GIVEN a row's last write refused for good THEN writes its earlier ones in order, as one by one would", async () => {
    const sent: unknown[][] = [];
    const { client } = fakeClient((_kind, params) => {
      sent.push(...params);
      return params.some((p) => p[1] === 'bad')
        ? new errors.ResponseError(0x2200, 'Invalid value')
        : undefined;
    });
    const same = (i: number, received: string): SinkWrite => ({
      table: SENT_RECEIVED,
      values: { time_sent: 't', time_received: received },
      offset: BigInt(i),
    });

    const rejected = await new CassandraSinkStore(client, 'ks', { retry: fast }).write([
      same(0, 'first'),
      same(1, 'second'),
      same(2, 'bad'),
    ]);

    expect(rejected.map((r) => r.write.offset)).toEqual([2n]);
    expect(sent.map((p) => p[1])).toEqual(['bad', 'first', 'second']);
  });

  it('with batchStatements 1, writes every row on its own', async () => {
    const { client, requests } = fakeClient(() => undefined);
    await new CassandraSinkStore(client, 'ks', { batchStatements: 1 }).write([row(0), row(1), row(2)]);
    expect(requests.map((r) => r.kind)).toEqual(['execute', 'execute', 'execute']);
  });
});

describe('CassandraCheckpointStore compare-and-set', () => {
  const ref = { job: 'j', topic: 't', partition: 0 };
  const checkpoint = {
    nextOffset: 10n,
    watermarkMs: null,
    claim: null,
    lane: 0,
    firstOffset: 0n,
    pendingSkip: null,
  } as never;
  const store = (failure: Error) =>
    new CassandraCheckpointStore(
      {
        execute: async () => {
          throw failure;
        },
      } as unknown as Client,
      'ks',
      { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      1,
    );

  it('sends a compare-and-set whose outcome is unknown again, and reports what the retry finds', async () => {
    // The first attempt timed out during Paxos having applied: the retry finds the guard moved.
    const answers: Array<Error | boolean> = [new errors.OperationTimedOutError('slow'), false];
    const cql: string[] = [];
    const checkpoints = new CassandraCheckpointStore(
      {
        execute: async (statement: string) => {
          cql.push(statement);
          const answer = answers.shift()!;
          if (answer instanceof Error) throw answer;
          return { wasApplied: () => answer };
        },
      } as unknown as Client,
      'ks',
      { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      1,
    );
    await expect(checkpoints.compareAndSet(ref, { nextOffset: 0n, claimId: null }, checkpoint)).resolves.toBe(
      false,
    );
    expect(cql).toHaveLength(2);
    expect(cql[1]).toBe(cql[0]);
  });

  it('GIVEN a throttled compare-and-set on every attempt THEN fails the batch with the cause, after its backoff', async () => {
    let calls = 0;
    const checkpoints = new CassandraCheckpointStore(
      {
        execute: async () => {
          calls++;
          throw new errors.ResponseError(0x0000, 'Throughput exceeded for the table');
        },
      } as unknown as Client,
      'ks',
      { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      1,
    );
    const error = await checkpoints
      .compareAndSet(ref, { nextOffset: 0n, claimId: null }, checkpoint)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({
      retriable: true,
      message: 'moving the checkpoint failed after 3 attempts: Throughput exceeded for the table',
    });
    expect(calls).toBe(3);
  });

  it('throws a missing permission as itself, not as "not applied" (which ended as a contention error)', async () => {
    await expect(store(responseError(0x2100)).create(ref, checkpoint)).rejects.toThrow(
      /creating the checkpoint failed: code 8448\. Fix the configuration/,
    );
  });

  it('throws a value the checkpoint cannot hold as itself', async () => {
    await expect(
      store(new TypeError('Invalid date')).compareAndSet(ref, { nextOffset: 0n, claimId: null }, checkpoint),
    ).rejects.toThrow(/moving the checkpoint was refused: Invalid date/);
  });
});

describe('the checkpoint protocol over a throttled or timing-out compare-and-set', () => {
  const job = createSentReceivedJob(
    { timeFormat: 'iso', failOnDataLoss: false },
    { name: 'j', topics: ['t'] },
  );
  const records = Array.from({ length: 3 }, (_, i) => ({
    topic: 't',
    partition: 0,
    offset: BigInt(i),
    timestamp: Date.UTC(2030, 0, 1, 0, 0, i),
    timestampType: 'CREATE_TIME' as const,
    key: null,
    value: Buffer.from(new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString()),
    headers: [],
  }));

  /**
   * One checkpoint row, as `CassandraCheckpointStore` writes it: `fail(n)` may throw instead of answering the
   * n-th compare-and-set, after (`applied`) or without applying it.
   */
  function checkpointTable(fail: (n: number) => { error: Error; applied: boolean } | undefined) {
    const row: Record<string, unknown> = {
      next_offset: 0n,
      watermark_ms: null,
      claim_id: '',
      claim_until: null,
      claim_time: null,
      lane: 0n,
      first_offset: 0n,
      pending_skip: null,
    };
    let n = 0;
    const client = {
      execute: async (cql: string, params: unknown[]) => {
        if (cql.startsWith('SELECT') && cql.includes('offset_checkpoints'))
          return { first: () => ({ get: (c: string) => row[c] }), rows: [] };
        if (cql.startsWith('SELECT')) return { first: () => undefined, rows: [] };
        const failure = fail(++n);
        const [next, watermark, claimId, claimUntil, claimTime, lane] = params;
        const holds = row.next_offset === params[12] && row.claim_id === params[13];
        if (holds && (!failure || failure.applied))
          Object.assign(row, {
            next_offset: next,
            watermark_ms: watermark,
            claim_id: claimId,
            claim_until: claimUntil,
            claim_time: claimTime,
            lane,
          });
        if (failure) throw failure.error;
        return { wasApplied: () => holds };
      },
    } as unknown as Client;
    return {
      row,
      calls: () => n,
      checkpoints: new CassandraCheckpointStore(
        client,
        'ks',
        { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 },
        1,
      ),
    };
  }

  const deps = (checkpoints: CassandraCheckpointStore, sink: MemorySinkStore) => ({
    checkpoints,
    sink,
    clock: () => new Date(Date.UTC(2030, 0, 2)),
    batchId: 'b1',
    warn: () => undefined,
  });

  it('GIVEN Keyspaces throttling every compare-and-set THEN the batch fails with the throttle as its cause, after the backoff, not as contention', async () => {
    const table = checkpointTable(() => ({
      error: new errors.ResponseError(0x0000, 'Throughput exceeded for the table'),
      applied: false,
    }));
    const error = await processPartition(
      job,
      { topic: 't', partition: 0, records },
      deps(table.checkpoints, new MemorySinkStore()),
    ).catch((e: unknown) => e);
    // Before: 50 compare-and-sets in a few milliseconds, then "other invocations kept moving it".
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({
      retriable: true,
      message: 'moving the checkpoint failed after 4 attempts: Throughput exceeded for the table',
    });
    expect(table.calls()).toBe(4);
    expect(table.row.next_offset).toBe(0n);
  });

  it('GIVEN a commit that applied but timed out THEN the batch ends at the commit, each record written once', async () => {
    const table = checkpointTable((n) =>
      n === 2 ? { error: new errors.ResponseError(0x1100, 'CAS write timeout'), applied: true } : undefined,
    );
    const sink = new MemorySinkStore();
    const outcome = await processPartition(
      job,
      { topic: 't', partition: 0, records },
      deps(table.checkpoints, sink),
    );
    expect(outcome.nextAfter).toBe(3n);
    expect(table.row).toMatchObject({ next_offset: 3n, claim_id: '' });
    expect(sink.rows(SENT_RECEIVED)).toHaveLength(3);
    expect(sink.conflicts).toEqual([]);
  });
});

describe('CassandraSinkStore.compareAndSetPartial', () => {
  /** A client that answers each compare-and-set with the next of `answers` (an error is thrown), and what it ran. */
  function partials(answers: Array<Error | boolean>) {
    const cql: string[] = [];
    const client = {
      execute: async (statement: string) => {
        cql.push(statement);
        const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
        if (answer instanceof Error) throw answer;
        return { wasApplied: () => answer };
      },
    } as unknown as Client;
    return {
      cql,
      sink: new CassandraSinkStore(client, 'ks', { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } }),
    };
  }
  const row = {
    sensor_id: 's1',
    window_spec: '60000/60000',
    window_start: new Date(0),
    topic: 't',
    kafka_partition: 0,
    lane: 0,
    reading_count: 1n,
    value_sum: 1,
    value_min: 1,
    value_max: 1,
    covered_offset: 5n,
  };

  it('GIVEN a fold whose outcome is unknown (it timed out during Paxos, having applied) THEN sends it again and reports what the retry finds', async () => {
    // GIVEN a compare-and-set that times out, then finds its guard moved (the first one applied)
    const { cql, sink } = partials([new errors.OperationTimedOutError('slow'), false]);

    // WHEN the partial is folded
    const applied = await sink.compareAndSetPartial(SENSOR_STATS, row, 4n);

    // THEN the same statement went twice, and the caller is told "not applied", to re-read the partial
    expect(applied).toBe(false);
    expect(cql).toHaveLength(2);
    expect(cql[1]).toBe(cql[0]);
    expect(cql[0]).toMatch(/ IF "covered_offset" = \?$/);
  });

  it('GIVEN a fold throttled on every attempt THEN fails the batch with the throttle as its cause, after the retries', async () => {
    // GIVEN a throttled table
    const { cql, sink } = partials([new errors.ResponseError(0x0000, 'Throughput exceeded for the table')]);

    // WHEN the partial is folded
    const error = await sink.compareAndSetPartial(SENSOR_STATS, row, 4n).catch((e: unknown) => e);

    // THEN a retriable SinkError that names the throttle, not "not applied" (a contention loop at once)
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({
      retriable: true,
      message: `folding a ${SENSOR_STATS.name} partial failed after 3 attempts: Throughput exceeded for the table`,
    });
    expect(cql).toHaveLength(3);
  });
});
