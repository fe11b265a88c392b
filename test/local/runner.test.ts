import { describe, expect, it } from 'vitest';
import { SHIPPED_JOBS } from '../support/jobs';
import fc from 'fast-check';
import { CONSUMER_TIMEOUT_SECONDS } from '../../config';
import { localConfig } from '../../local/app';
import {
  EventSourceRunner,
  firstBatchShare,
  MicroBatcher,
  offsetRangesOf,
  recordBytes,
  toKafkaRecord,
  withKafkaRetry,
  type RunnerOptions,
} from '../../local/runner';
import { eventPayloadBytes, toMskEvent, type KafkaRecord } from '../../lambda/runtime/event';

const rec = (partition: number, offset: number, bytes = 10): KafkaRecord => ({
  topic: 'test',
  partition,
  offset: BigInt(offset),
  timestamp: 1,
  timestampType: 'CREATE_TIME',
  key: null,
  value: Buffer.alloc(bytes, 97),
  headers: [],
});

const SENT_RECEIVED_SOURCE = localConfig(SHIPPED_JOBS).jobs['sent-received']!;

/** A runner that never joins a group: the tests call its private batch loop, `handle` or `pollerFor` directly. */
const offlineRunner = (options: Partial<RunnerOptions> = {}): EventSourceRunner =>
  new EventSourceRunner({
    jobName: 'offline',
    topics: ['test'],
    source: SENT_RECEIVED_SOURCE,
    brokers: ['localhost:9092'],
    invoke: () => Promise.resolve(),
    onFailureDir: '/nonexistent',
    log: () => undefined,
    staticMembership: false,
    ...options,
  });

describe('MicroBatcher', () => {
  it('closes a batch at batchSize, keeping arrival order', async () => {
    const b = new MicroBatcher(3, 10_000, 6 * 1024 * 1024, 100);
    void b.enqueue([rec(0, 0), rec(0, 1)]);
    void b.enqueue([rec(1, 5), rec(1, 6)]);
    const batch = await b.next(() => false);
    expect(batch.map((i) => `${i.record.partition}:${i.record.offset}`)).toEqual(['0:0', '0:1', '1:5']);
    expect(b.buffered).toBe(1);
  });

  it('drops what a re-fetch after a rebalance or broker restart delivers again, so offsets stay in order', async () => {
    // GIVEN records 5..9 of partition 0, of which 5..6 are taken in a batch
    const b = new MicroBatcher(2, 0, 6 * 1024 * 1024, 100);
    void b.enqueue([5, 6, 7, 8, 9].map((o) => rec(0, o)));
    await b.next(() => false);
    // WHEN kafkajs fetches the partition again from its committed offset 3, and beyond
    void b.enqueue([3, 4, 5, 6, 7, 8, 9, 10, 11].map((o) => rec(0, o)));
    void b.enqueue([rec(1, 0)]);
    // THEN the next batches hold 7..11 of partition 0 once each, in offset order, and partition 1 is untouched
    const taken: string[] = [];
    while (b.buffered)
      taken.push(...(await b.next(() => false)).map((i) => `${i.record.partition}:${i.record.offset}`));
    expect(taken).toEqual(['0:7', '0:8', '0:9', '0:10', '0:11', '1:0']);
    // AND a fetch that brings nothing new resolves at once
    await expect(b.enqueue([rec(0, 4)])).resolves.toBeUndefined();
  });

  it('closes a batch when the window ends, however few records it has', async () => {
    const b = new MicroBatcher(100, 300, 6 * 1024 * 1024, 100);
    void b.enqueue([rec(0, 0)]);
    const started = Date.now();
    const batch = await b.next(() => false);
    expect(batch).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('GIVEN records fetched while the previous batch was handled THEN their window counts from their arrival', async () => {
    // GIVEN a 600 ms window and a record that arrives while the handler still has the previous batch
    const b = new MicroBatcher(100, 600, 6 * 1024 * 1024, 100);
    void b.enqueue([rec(0, 0)]);
    await new Promise((resolve) => setTimeout(resolve, 450));
    // WHEN the runner asks for the next batch after that handling
    const asked = Date.now();
    const batch = await b.next(() => false);
    // THEN the batch closes when the record has waited one window, not one window after the call
    expect(batch).toHaveLength(1);
    expect(Date.now() - asked).toBeLessThan(400);
  });

  it('never lets a batch pass the payload cap', async () => {
    const size = recordBytes(rec(0, 0, 1000));
    const b = new MicroBatcher(100, 0, 100 + size * 2 + size / 2, 100);
    void b.enqueue([rec(0, 0, 1000), rec(0, 1, 1000), rec(0, 2, 1000)]);
    expect(await b.next(() => false)).toHaveLength(2);
    expect(await b.next(() => false)).toHaveLength(1);
  });

  it('sends a single record over the cap alone, so it reaches the on-failure path instead of blocking', async () => {
    const b = new MicroBatcher(100, 0, 500, 100);
    void b.enqueue([rec(0, 0, 5000), rec(0, 1)]);
    expect((await b.next(() => false)).map((i) => i.record.offset)).toEqual([0n]);
  });

  it('resolves a fetch once all its records are settled, with the last offset', async () => {
    const b = new MicroBatcher(2, 0, 6 * 1024 * 1024, 100);
    const done = b.enqueue([rec(0, 7), rec(0, 8), rec(0, 9)]);
    MicroBatcher.settle(await b.next(() => false));
    MicroBatcher.settle(await b.next(() => false));
    await expect(done).resolves.toBe(9n);
  });

  it('on abandon, releases waiters with the last offset really handled', async () => {
    const b = new MicroBatcher(2, 0, 6 * 1024 * 1024, 100);
    const done = b.enqueue([rec(0, 1), rec(0, 2), rec(0, 3)]);
    MicroBatcher.settle(await b.next(() => false));
    b.abandon();
    await expect(done).resolves.toBe(2n);
  });

  it('keeps records the filters drop in the batch, to commit past them, without counting them', async () => {
    // Prepare: only values starting with "keep" pass.
    const b = new MicroBatcher(2, 0, 6 * 1024 * 1024, 100, [{ value: [{ prefix: 'keep' }] }]);
    const value = (offset: number, text: string) => ({ ...rec(0, offset), value: Buffer.from(text) });

    // Act
    void b.enqueue([
      value(0, 'keep'),
      value(1, 'drop'),
      value(2, 'drop'),
      value(3, 'keep'),
      value(4, 'keep'),
    ]);
    const first = await b.next(() => false);

    // Assess: two delivered records fill the batch; the dropped ones between them ride along, marked.
    expect(first.map((i) => [i.record.offset, i.filtered])).toEqual([
      [0n, false],
      [1n, true],
      [2n, true],
      [3n, false],
    ]);
    expect((await b.next(() => false)).map((i) => i.record.offset)).toEqual([4n]);
  });

  it('GIVEN a full buffer THEN whenRoom resumes the paused partition only once a batch is taken', async () => {
    // GIVEN a batcher holding two batches' worth (its back-pressure bound)
    const b = new MicroBatcher(2, 10_000, 6 * 1024 * 1024, 100);
    void b.enqueue([rec(0, 0), rec(0, 1), rec(0, 2), rec(0, 3)]);
    expect(b.full).toBe(true);
    let resumed = 0;
    // WHEN the runner pauses the partition and hands over its resume
    b.whenRoom(() => resumed++);
    // THEN nothing resumes while the buffer is full, and a taken batch makes room and resumes it, once
    expect(resumed).toBe(0);
    await b.next(() => false);
    expect(b.full).toBe(false);
    expect(resumed).toBe(1);
    await b.next(() => false);
    expect(resumed).toBe(1);
    // AND a buffer with room resumes at once
    b.whenRoom(() => resumed++);
    expect(resumed).toBe(2);
  });

  it('returns nothing once stopped, leaving the buffered records uncommitted', async () => {
    const b = new MicroBatcher(10, 10_000, 6 * 1024 * 1024, 100);
    void b.enqueue([rec(0, 1)]);
    expect(await b.next(() => true)).toEqual([]);
    expect(b.buffered).toBe(1);
  });

  it('GIVEN a first-batch share of 1/3 THEN the first batch closes at a third of the window, later ones at all of it', async () => {
    const b = new MicroBatcher(100, 900, 6 * 1024 * 1024, 100, [], 1 / 3);
    void b.enqueue([rec(0, 0)]);
    let asked = Date.now();
    expect(await b.next(() => false)).toHaveLength(1);
    const first = Date.now() - asked;
    expect(first).toBeGreaterThanOrEqual(250);
    expect(first).toBeLessThan(700);
    void b.enqueue([rec(0, 1)]);
    asked = Date.now();
    expect(await b.next(() => false)).toHaveLength(1);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(850);
  });

  it('GIVEN a first-batch share of 1/3 THEN the first batch closes at a third of the batch size, later ones at all of it', async () => {
    const b = new MicroBatcher(9, 60_000, 6 * 1024 * 1024, 100, [], 1 / 3);
    // GIVEN a window far longer than the test: every batch below closes on its size
    void b.enqueue(Array.from({ length: 12 }, (_, i) => rec(0, i)));
    const sizes: number[] = [];
    while (b.buffered) sizes.push((await b.next(() => false)).length);
    expect(sizes).toEqual([3, 9]);
  });

  it('refuses a first-batch share outside (0, 1], naming the value', () => {
    for (const share of [0, -0.5, 1.5, Number.NaN])
      expect(() => new MicroBatcher(1, 0, 1000, 100, [], share)).toThrow(
        `firstBatchShare must be in (0, 1], received ${share}.`,
      );
  });
});

describe('firstBatchShare', () => {
  it('spreads the first batches of the pollers one partition assignment makes over the window', () => {
    expect([0, 1, 2].map((i) => firstBatchShare(i, 3))).toEqual([1 / 3, 2 / 3, 1]);
    // A poller beyond the assignment (a partition gained without a new join), and a lone poller, get it all.
    expect(firstBatchShare(3, 3)).toBe(1);
    expect(firstBatchShare(0, 1)).toBe(1);
  });
});

describe('offsetRangesOf', () => {
  it("names each partition's first and last offset, as a failing batch's log line shows them", () => {
    expect(offsetRangesOf([rec(0, 41), rec(1, 7), rec(0, 42), rec(0, 43)])).toEqual([
      'test-0: [41, 43]',
      'test-1: [7, 7]',
    ]);
  });
});

describe('recordBytes', () => {
  it('equals what the record adds to a serialised MSK event, for any record', () => {
    const envelope = (records: KafkaRecord[]) =>
      eventPayloadBytes(toMskEvent(records, { eventSourceArn: 'arn', bootstrapServers: 'b' }));
    fc.assert(
      fc.property(
        fc.record({
          topic: fc.constantFrom('test', 'sensor-readings', 'ü-topic', 'a"b'),
          partition: fc.nat({ max: 1000 }),
          offset: fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
          timestamp: fc.nat({ max: 2 ** 45 }),
          timestampType: fc.constantFrom('CREATE_TIME', 'LOG_APPEND_TIME'),
          key: fc.option(
            fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
            { nil: null },
          ),
          value: fc.option(
            fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
            { nil: null },
          ),
          headers: fc.array(
            fc.record({
              key: fc.string({ maxLength: 8 }),
              value: fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a)),
            }),
            { maxLength: 3 },
          ),
        }),
        (record) => {
          expect(recordBytes(record)).toBe(envelope([record]) - envelope([]));
        },
      ),
    );
  });

  it('adds up, with the envelope, to the size of the MSK event', () => {
    const records = [rec(0, 0, 12), rec(0, 1, 300), rec(1, 0, 7)];
    const event = toMskEvent(records, { eventSourceArn: 'arn', bootstrapServers: 'b' });
    const envelope = eventPayloadBytes(toMskEvent([], { eventSourceArn: 'arn', bootstrapServers: 'b' }));
    const estimate = envelope + records.reduce((n, r) => n + recordBytes(r), 0);
    // Per-partition keys and commas make the real event a little larger; the runner reserves room for them.
    expect(Math.abs(eventPayloadBytes(event) - estimate)).toBeLessThan(64);
  });
});

describe('toKafkaRecord', () => {
  it('maps a kafkajs message to the MSK record fields', () => {
    const message = {
      offset: '41',
      timestamp: '1779330000000',
      attributes: 0,
      key: Buffer.from('k'),
      value: null,
      headers: { h: Buffer.from('v'), multi: ['a', 'b'] },
      // kafkajs keeps the record batch's attributes here; the type is the batch's (issue 8, fix 6).
      batchContext: { timestampType: 1 },
    };
    const r = toKafkaRecord('test', 2, message);
    expect(r).toEqual({
      topic: 'test',
      partition: 2,
      offset: 41n,
      timestamp: 1779330000000,
      timestampType: 'LOG_APPEND_TIME',
      key: Buffer.from('k'),
      value: null,
      headers: [
        { key: 'h', value: Buffer.from('v') },
        { key: 'multi', value: Buffer.from('a') },
        { key: 'multi', value: Buffer.from('b') },
      ],
    });
  });

  it('carries a header without a value as null instead of throwing (issue 8, fix 6)', () => {
    // kafkajs decodes a null header value as null, which its types leave out.
    const headers = { trace: null } as unknown as Record<string, Buffer>;
    const r = toKafkaRecord('test', 0, {
      offset: '1',
      timestamp: '1',
      attributes: 0,
      key: null,
      value: Buffer.from('v'),
      headers,
    });
    expect(r.headers).toEqual([{ key: 'trace', value: null }]);
    expect(r.timestampType).toBe('CREATE_TIME');
    expect(recordBytes(r)).toBe(
      eventPayloadBytes(toMskEvent([r], { eventSourceArn: 'arn', bootstrapServers: 'b' })) -
        eventPayloadBytes(toMskEvent([], { eventSourceArn: 'arn', bootstrapServers: 'b' })),
    );
  });
});

describe('withKafkaRetry', () => {
  it('retries what kafkajs marks retriable, saying what it waits for, then succeeds', async () => {
    // Prepare: the coordinator is not elected for the first two calls, as right after a broker starts.
    let calls = 0;
    const lines: Array<Record<string, unknown>> = [];
    const notCoordinator = Object.assign(new Error('This is not the correct coordinator for this group'), {
      name: 'KafkaJSProtocolError',
      type: 'NOT_COORDINATOR_FOR_GROUP',
      retriable: true,
    });

    // Act
    const result = await withKafkaRetry(
      'join the consumer group',
      async () => {
        if (++calls < 3) throw notCoordinator;
        return 'joined';
      },
      (l) => lines.push(l),
    );

    // Assess
    expect(result).toBe('joined');
    expect(lines.map((l) => l.message)).toEqual([
      expect.stringMatching(
        /^waiting for Kafka to join the consumer group: NOT_COORDINATOR_FOR_GROUP; retry 1/,
      ),
      expect.stringMatching(/retry 2/),
    ]);
  });

  it('fails at once on an error that is not retriable, and after its bound on one that is', async () => {
    const fatal = Object.assign(new Error('not authorized'), { retriable: false });
    await expect(
      withKafkaRetry(
        'x',
        () => Promise.reject(fatal),
        () => undefined,
      ),
    ).rejects.toBe(fatal);
    const busy = Object.assign(new Error('busy'), { retriable: true });
    await expect(
      withKafkaRetry(
        'x',
        () => Promise.reject(busy),
        () => undefined,
        300,
      ),
    ).rejects.toBe(busy);
  });
});

describe('EventSourceRunner pollers', () => {
  const source = SENT_RECEIVED_SOURCE;
  const runner = offlineRunner;
  /** The runner's assignment of a partition to a poller (private: what the batches in flight depend on). */
  const pollerOf = (r: EventSourceRunner, partition: number): unknown =>
    (r as unknown as { pollerFor(topic: string, partition: number): unknown }).pollerFor('test', partition);

  it('GIVEN no pollers setting THEN each partition gets a poller of its own, and keeps it', () => {
    const r = runner();
    const [a, b, c] = [0, 1, 2].map((p) => pollerOf(r, p));
    expect(new Set([a, b, c]).size).toBe(3);
    expect(pollerOf(r, 1)).toBe(b);
  });

  it('GIVEN 2 pollers for 5 partitions THEN they share them 3 and 2, a partition never in two', () => {
    const r = runner({ pollers: 2 });
    const owners = [0, 1, 2, 3, 4].map((p) => pollerOf(r, p));
    const counts = [...new Set(owners)].map((o) => owners.filter((x) => x === o).length);
    expect(counts.sort()).toEqual([2, 3]);
    expect([0, 1, 2, 3, 4].map((p) => pollerOf(r, p))).toEqual(owners);
  });

  it('GIVEN provisioned pollers in the source THEN the runner defaults to their maximum', () => {
    const r = runner({ source: { ...source, provisionedPollers: { minimumPollers: 1, maximumPollers: 1 } } });
    expect(pollerOf(r, 0)).toBe(pollerOf(r, 1));
  });

  it('GIVEN fewer than one poller THEN refuses, naming the value', () => {
    expect(() => runner({ pollers: 0 })).toThrow("The runner's pollers must be at least 1, received 0.");
  });
});

describe('EventSourceRunner stop during a failing batch', () => {
  const source = SENT_RECEIVED_SOURCE;

  it('GIVEN bisectBatchOnError WHEN a stop comes while a batch fails THEN the batch is not split further, and stays uncommitted', async () => {
    // GIVEN a handler that always fails (the store is down), and a stop that comes during the first invocation
    const invoked: number[] = [];
    const r: EventSourceRunner = offlineRunner({
      jobName: 'stop-bisect',
      source: { ...source, bisectBatchOnError: true, retryAttempts: 3, maxRecordAgeSeconds: -1 },
      invoke: (event) => {
        invoked.push(Object.values(event.records).flat().length);
        (r as unknown as { stopping: boolean }).stopping = true;
        return Promise.reject(new Error('store down'));
      },
    });
    const handle = (r as unknown as { handle(records: KafkaRecord[]): Promise<void> }).handle.bind(r);
    // WHEN the batch of 8 records fails once the stop has come
    await expect(handle([0, 1, 2, 3, 4, 5, 6, 7].map((o) => rec(0, o)))).rejects.toThrow('store down');
    // THEN the handler saw the batch once: a graceful stop does not wait for a failing batch
    expect(invoked, `invocations after the stop: ${invoked.join(', ')} records`).toEqual([8]);
  });
});

describe('EventSourceRunner maxRecordAgeSeconds with bisectBatchOnError', () => {
  const source = SENT_RECEIVED_SOURCE;

  it('GIVEN a failing batch older than maxRecordAgeSeconds THEN its halves are not sent to the function again', async () => {
    // GIVEN records far older than the maximum age (timestamp 1 ms after the epoch), and a handler that fails
    const invoked: number[] = [];
    const failed: Array<{ records: number; condition: string }> = [];
    const r = offlineRunner({
      jobName: 'age-bisect',
      source: { ...source, bisectBatchOnError: true, retryAttempts: 3, maxRecordAgeSeconds: 60 },
      invoke: (event) => {
        invoked.push(Object.values(event.records).flat().length);
        return Promise.reject(new Error('bad record'));
      },
    });
    const internals = r as unknown as {
      handle(records: KafkaRecord[]): Promise<void>;
      sendToOnFailure(
        e: unknown,
        records: KafkaRecord[],
        err: unknown,
        n: number,
        condition: string,
      ): Promise<void>;
    };
    internals.sendToOnFailure = (_e, records, _err, _n, condition) => {
      failed.push({ records: records.length, condition });
      return Promise.resolve();
    };
    // WHEN the batch of 8 fails
    await internals.handle.call(
      r,
      [0, 1, 2, 3, 4, 5, 6, 7].map((o) => rec(0, o)),
    );
    // THEN Lambda sends no record older than the maximum age to the function: the batch goes to the on-failure
    // destination as it is, instead of its halves being invoked again
    expect(invoked, `invocations: ${invoked.join(', ')} records`).toEqual([8]);
    expect(failed).toEqual([{ records: 8, condition: 'RecordAgeExceeded' }]);
  });
});

describe('EventSourceRunner stop after an on-failure record could not be written', () => {
  const source = SENT_RECEIVED_SOURCE;

  it('GIVEN a batch put back because its on-failure record could not be written WHEN the stop comes before its next attempt THEN it counts as left uncommitted', async () => {
    // GIVEN a handler that fails, no retries, and an on-failure destination that cannot be written (disk full)
    let invoked = 0;
    const r = offlineRunner({
      jobName: 'stop-requeued',
      source: { ...source, retryAttempts: 0, maxRecordAgeSeconds: -1, bisectBatchOnError: false },
      invoke: () => {
        invoked++;
        return Promise.reject(new Error('store down'));
      },
    });
    const internals = r as unknown as {
      stopping: boolean;
      batchLoop(batcher: MicroBatcher): Promise<void>;
      sendToOnFailure(): Promise<void>;
    };
    internals.sendToOnFailure = () => Promise.reject(new Error('ENOSPC: no space left on device'));
    const batcher = new MicroBatcher(10, 0, 6 * 1024 * 1024, 100);
    void batcher.enqueue([rec(0, 0)]);
    const loop = internals.batchLoop.call(r, batcher);
    while (invoked === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // WHEN the stop comes while the batch waits to be tried again
    internals.stopping = true;
    await loop;
    // THEN the batch is uncommitted (still buffered), and the stop says so: the CLI exits 1 on it
    expect(batcher.buffered).toBe(1);
    expect(r.stats.uncommittedAtStop, 'uncommittedAtStop').toBe(1);
  });
});

describe('EventSourceRunner stopWhenCaughtUp when an offset commit fails', () => {
  it('GIVEN the last batch handled WHEN its offset commit fails THEN the runner still counts it caught up and stops', async () => {
    // GIVEN a replay-style runner whose topic ends at offset 1, and a Kafka that refuses the commit (a rebalance)
    const r = offlineRunner({
      jobName: 'caught-up-commit-failed',
      stopWhenCaughtUp: true,
    });
    const internals = r as unknown as {
      endOffsets: Map<string, bigint>;
      consumer: { commitOffsets(): Promise<void>; disconnect(): Promise<void> };
      batchLoop(batcher: MicroBatcher): Promise<void>;
    };
    internals.endOffsets = new Map([['test-0', 1n]]);
    internals.consumer.commitOffsets = () => Promise.reject(new Error('REBALANCE_IN_PROGRESS'));
    internals.consumer.disconnect = () => Promise.resolve();
    const batcher = new MicroBatcher(10, 0, 6 * 1024 * 1024, 100);
    void batcher.enqueue([rec(0, 0)]);
    // WHEN its one batch is handled (the effects are in the store; the commit fails)
    void internals.batchLoop.call(r, batcher);
    // THEN the runner stops by itself: the records are handled, and a failed commit only means a redelivery that
    // the checkpoints skip
    const stopped = await Promise.race([
      r.stopped.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000)),
    ]);
    expect(stopped, 'the runner stopped once every record was handled').toBe(true);
  });
});

describe('EventSourceRunner function timeout', () => {
  const source = SENT_RECEIVED_SOURCE;

  it('GIVEN an invocation that outruns the function timeout THEN the runner gives up on it and retries the batch, as Lambda does', async () => {
    // GIVEN a handler whose first invocation hangs, and a timeout of 50 ms
    const remaining: number[] = [];
    const lines: Array<Record<string, unknown>> = [];
    let invocations = 0;
    let endHungInvocation = (): void => undefined;
    const r = offlineRunner({
      jobName: 'timeout',
      source: { ...source, retryAttempts: 3, maxRecordAgeSeconds: -1 },
      functionTimeoutMs: 50,
      retryBaseDelayMs: 1,
      log: (line) => lines.push(line),
      invoke: (_event, context) => {
        remaining.push(context.getRemainingTimeInMillis());
        if (++invocations > 1) return Promise.resolve();
        return new Promise((resolve) => (endHungInvocation = () => resolve(undefined)));
      },
    });
    const handle = (r as unknown as { handle(records: KafkaRecord[]): Promise<void> }).handle.bind(r);
    // WHEN the batch is handled
    await handle([0, 1, 2].map((o) => rec(0, o)));
    // THEN the first invocation was given up on with Lambda's words, and the retry handled the batch
    expect(invocations).toBe(2);
    expect(r.stats).toMatchObject({ batches: 1, records: 3, failedBatches: 0 });
    const failure = lines.find((l) => l.message === 'handler failed; retrying in 1 ms');
    expect(failure?.error).toMatch(/^FunctionTimeoutError: Task timed out after 0\.05 seconds/);
    // AND each invocation's context counts down from the timeout, not from Lambda's longest
    for (const ms of remaining) expect(ms).toBeLessThanOrEqual(50);
    // AND when the abandoned invocation ends at last, that is logged, not thrown
    endHungInvocation();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => l.message)).toContain(
      'an invocation given up on at the function timeout has ended',
    );
  });

  it('GIVEN no functionTimeoutMs THEN an invocation gets the consumers deployed timeout', async () => {
    // GIVEN a runner without a timeout of its own
    let remaining = 0;
    const r = offlineRunner({
      invoke: (_event, context) => {
        remaining = context.getRemainingTimeInMillis();
        return Promise.resolve();
      },
    });
    const handle = (r as unknown as { handle(records: KafkaRecord[]): Promise<void> }).handle.bind(r);
    // WHEN a batch is handled
    await handle([rec(0, 0)]);
    // THEN the context counts down from CONSUMER_TIMEOUT_SECONDS, what the CDK app deploys by default
    expect(remaining).toBeGreaterThan(CONSUMER_TIMEOUT_SECONDS * 1000 - 1000);
    expect(remaining).toBeLessThanOrEqual(CONSUMER_TIMEOUT_SECONDS * 1000);
  });
});
