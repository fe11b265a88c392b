import { describe, expect, it } from 'vitest';
import {
  BadRequest,
  classifyState,
  deadLetterFate,
  deadLetterJson,
  decodeCursor,
  encodeCursor,
  hourTotals,
  inputRates,
  payloadView,
  Views,
} from '../../../local/ui/views';
import type { BatchRow, DeadLetterView, Rollup, UiData } from '../../../local/ui/data';
import type { LagReading, Sampler } from '../../../local/ui/sampler';
import type { UiJob } from '../../../local/ui/jobs';

/** The job the views below are asked about: sent-received on topic `test` of `partitions` partitions. */
const uiJobOf = (partitions = 1): UiJob =>
  ({
    name: 'sent-received',
    kind: 'transform',
    topics: ['test'],
    partitionsPerTopic: { test: partitions },
    batchingWindowSeconds: 5,
  }) as unknown as UiJob;

/** Views of `job` over the store calls a test gives, at clock time `at`, with no lag sampled. */
const viewsOf = (data: object, job: UiJob, at: number) =>
  new Views(
    data as UiData,
    { latest: () => undefined } as unknown as Sampler,
    () => [job],
    () => at,
  );

const job = { batchingWindowSeconds: 5 };
const now = Date.parse('2026-05-21T12:00:00Z');
const reading = (
  lag: Partial<NonNullable<LagReading['lag']>> | null,
  error: string | null = null,
): LagReading => ({
  at: new Date(now),
  lag:
    lag === null
      ? null
      : {
          partitions: [],
          records: 0,
          seconds: 0,
          secondsAtLeast: false,
          members: 1,
          state: 'Stable',
          ...lag,
        },
  error,
});

describe('classifyState', () => {
  it('is running when consumers are in the group and batches keep up', () => {
    expect(
      classifyState({ now, job, lastBatchEnd: now - 3000, lag: reading({ records: 4, seconds: 2 }) }).state,
    ).toBe('running');
  });

  it('is stopped when the consumer group has no member, whatever the lag', () => {
    const s = classifyState({
      now,
      job,
      lastBatchEnd: now - 3000,
      lag: reading({ members: 0, state: 'Empty', records: 10 }),
    });
    expect(s).toEqual({ state: 'stopped', reason: 'consumer group is Empty, with no member' });
  });

  it('is failing when records wait and no batch finished for 6 windows (a minute at least)', () => {
    expect(
      classifyState({ now, job, lastBatchEnd: now - 59_000, lag: reading({ records: 10, seconds: 59 }) })
        .state,
    ).toBe('lagging');
    const s = classifyState({
      now,
      job,
      lastBatchEnd: now - 61_000,
      lag: reading({ records: 10, seconds: 61 }),
    });
    expect(s.state).toBe('failing');
    expect(s.reason).toBe('10 records wait and no batch finished for 61 s');
  });

  it('GIVEN no batch in the ledger yet THEN the oldest waiting record decides, not a made-up time since a batch', () => {
    // A new job's first window has not closed: running, waiting for its first batch
    expect(classifyState({ now, job, lastBatchEnd: null, lag: reading({ records: 1, seconds: 2 }) })).toEqual(
      { state: 'running', reason: '1 consumer(s), 1 record waits for the first batch' },
    );
    // Records that waited past the stall limit without any batch finishing: failing, and it says so
    expect(
      classifyState({
        now,
        job,
        lastBatchEnd: null,
        lag: reading({ records: 10, seconds: 61, secondsAtLeast: true }),
      }),
    ).toEqual({
      state: 'failing',
      reason: '10 records wait, the oldest at least 61 s, and no batch has finished yet',
    });
  });

  it('is lagging when the oldest waiting record is older than 3 windows (30 s at least)', () => {
    expect(
      classifyState({ now, job, lastBatchEnd: now - 1000, lag: reading({ records: 9, seconds: 30 }) }).state,
    ).toBe('running');
    expect(
      classifyState({ now, job, lastBatchEnd: now - 1000, lag: reading({ records: 9, seconds: 31 }) }).state,
    ).toBe('lagging');
  });

  it('says "at least" when the time behind is a lower bound (the record is older than the UI\'s watch)', () => {
    const lagging = (secondsAtLeast: boolean) =>
      classifyState({
        now,
        job,
        lastBatchEnd: now - 1000,
        lag: reading({ records: 9, seconds: 31, secondsAtLeast }),
      }).reason;
    expect(lagging(true)).toBe('the oldest waiting record is at least 31 s old');
    expect(lagging(false)).toBe('the oldest waiting record is 31 s old');
  });

  it('falls back on the ledger alone when Kafka cannot be asked, and says why', () => {
    const fresh = classifyState({
      now,
      job,
      lastBatchEnd: now - 1000,
      lag: reading(null, 'Kafka: connection refused'),
    });
    expect(fresh).toEqual({
      state: 'running',
      reason: 'Kafka: connection refused; a batch finished recently',
    });
    expect(classifyState({ now, job, lastBatchEnd: null, lag: undefined }).state).toBe('unknown');
  });
});

describe('payloadView', () => {
  const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

  it('shows UTF-8 text as text, markup included (the page sets it as text)', () => {
    expect(payloadView(b64('<script>alert(1)</script> été'))).toEqual({
      encoding: 'text',
      text: '<script>alert(1)</script> été',
      bytes: 31,
      truncated: false,
    });
  });

  it('shows invalid UTF-8 and control characters as hex', () => {
    expect(payloadView(b64(Buffer.from([0xff, 0x00, 0x41])))).toMatchObject({
      encoding: 'hex',
      text: 'ff 00 41',
    });
    expect(payloadView(b64('a\u0000b'))).toMatchObject({ encoding: 'hex', text: '61 00 62' });
    expect(payloadView(b64('line\nnext\ttab'))).toMatchObject({ encoding: 'text' });
  });

  it('tells a null payload and a truncated one', () => {
    expect(payloadView(null)).toEqual({ encoding: 'null', text: '', bytes: 0, truncated: false });
    expect(payloadView(b64('x'.repeat(5000)))).toMatchObject({
      encoding: 'text',
      bytes: 5000,
      truncated: true,
    });
  });
});

describe('inputRates', () => {
  const at = Date.parse('2026-05-21T12:00:00Z');
  const row = (startMs: number, ranges: Array<[number, number]>, mode: string | null = 'live') =>
    ({
      startedAt: new Date(at + startMs),
      mode,
      offsetRanges: ranges.map(([partition, records]) => ({
        topic: 'test',
        partition,
        fromOffset: 1000,
        untilOffset: 1000 + records,
      })),
    }) as unknown as BatchRow;

  it('GIVEN one poller per partition, batches milliseconds apart THEN sums each partition over its own interval', () => {
    // GIVEN 3 partitions at 2,000 records/s each, batches every 5 s, the three 20 ms apart
    const batches = [0, 5000, 10_000].flatMap((t) => [0, 1, 2].map((p) => row(t + p * 20, [[p, 10_000]])));
    const rates = inputRates(batches, 5);
    // THEN from the second round on, the job's rate is 6,000/s at every batch (not 10,000 over 20 ms)
    expect(rates.slice(3).map((r) => Math.round(r!))).toEqual([6000, 6000, 6000, 6000, 6000, 6000]);
  });

  it('GIVEN a replay THEN its batch has no rate and leaves the live rate as it was', () => {
    const rates = inputRates(
      [row(0, [[0, 500]]), row(5000, [[0, 500]]), row(5050, [[0, 9000]], 'replay')],
      5,
    );
    expect(rates).toEqual([100, 100, null]);
  });

  it('GIVEN a partition no batch has had for twice its interval THEN it stops adding to the rate', () => {
    const rates = inputRates(
      [
        row(0, [[0, 500]]),
        row(100, [[1, 500]]),
        row(5000, [[0, 500]]),
        row(10_000, [[0, 500]]),
        row(15_000, [[0, 500]]),
      ],
      5,
    );
    // Partition 1 (100/s from its first batch) counts until 10.1 s have passed since it was last seen.
    expect(rates).toEqual([100, 200, 200, 200, 100]);
  });
});

describe('deadLetterFate', () => {
  it('says the record stays dead-lettered, and where it still is, instead of a replay that applies nothing', () => {
    expect(deadLetterFate({ topic: 'test', partition: 2, offset: 41 })).toBe(
      'Stays dead-lettered: the checkpoint has passed test-2 @ 41, so neither replay nor redrive applies it ' +
        "again. The record stays in Kafka until the topic's retention removes it.",
    );
  });
});

describe('cursors', () => {
  it('round-trips, and refuses anything the API did not return', () => {
    const c = { day: '2026-05-21', pageState: 'abc' };
    expect(decodeCursor(encodeCursor(c), () => true)).toEqual(c);
    expect(() => decodeCursor('%%%', () => true)).toThrow(BadRequest);
    expect(() =>
      decodeCursor(encodeCursor({ day: 1 }), (v: { day: unknown }) => typeof v.day === 'string'),
    ).toThrow(/pass the `next` value of the previous page as is/);
  });
});

describe('deadLetterJson', () => {
  const dead = {
    job: 'sent-received',
    topic: 'test',
    partition: 0,
    offset: 7,
    reason: 'schema',
    detail: 'not a time',
    recordTimestamp: new Date('2026-05-21T02:00:00Z'),
    keyBase64: null,
    valueBase64: Buffer.from('x'.repeat(5000)).toString('base64'),
  } as unknown as DeadLetterView;

  it('GIVEN no raw THEN sends the 4 KB preview only, not the stored payload', () => {
    const json = deadLetterJson(dead);
    expect(json).not.toHaveProperty('valueBase64');
    expect(json.value).toMatchObject({ encoding: 'text', bytes: 5000, truncated: true });
  });

  it('GIVEN raw THEN adds the stored payload in base64', () => {
    expect(deadLetterJson(dead, { raw: true }).valueBase64).toBe(dead.valueBase64);
  });
});

describe('the dead letters view', () => {
  it('answers a raw other than 1 or 0 with 400, naming the value', async () => {
    const views = new Views({} as UiData, {} as Sampler, () => []);
    await expect(views.deadLetters(new URLSearchParams('raw=yes'))).rejects.toThrow(
      new BadRequest("raw must be 1 (with each stored payload in base64) or 0; received 'yes'."),
    );
  });

  it.each(['5', '2026-02-30T00:00:00Z', '2026-05-21junk'])(
    'GIVEN from=%s, which Date.parse would read THEN 400 before asking the store',
    async (from) => {
      const views = new Views({} as UiData, {} as Sampler, () => []);
      await expect(views.deadLetters(new URLSearchParams({ from }))).rejects.toThrow(
        new BadRequest(
          `from must be an ISO-8601 time on a day of the calendar, such as 2026-05-21T02:20:00Z; received '${from}'.`,
        ),
      );
    },
  );

  it('GIVEN a batch start time of February 30 THEN 400, not a search for March 2', async () => {
    const views = viewsOf({}, uiJobOf(1), Date.now());
    await expect(views.findBatch('sent-received', '2026-02-30T00:00:00Z', 'b-1')).rejects.toThrow(
      new BadRequest(
        "The batch's start time must be an ISO-8601 time on a day of the calendar, such as 2026-05-21T02:20:00Z; received '2026-02-30T00:00:00Z'.",
      ),
    );
  });

  it.each([
    ['topic=nosuch', "topic must be one of test; received 'nosuch'."],
    ['partition=-1', 'partition must be one of 0, 1, 2; received -1.'],
    ['topic=test&partition=3', 'partition must be one of 0, 1, 2 for topic test; received 3.'],
    [
      'from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z',
      'from must be before to; received from 2026-12-01T00:00:00.000Z, to 2026-11-01T00:00:00.000Z.',
    ],
  ])(
    'GIVEN %s, which no dead letter can match THEN 400 saying what there is, not an empty page',
    async (query, message) => {
      // GIVEN views of a job on topic test of 3 partitions, which must not reach the data for a bad request
      const views = viewsOf({}, uiJobOf(3), Date.now());

      // THEN
      await expect(views.deadLetters(new URLSearchParams(query))).rejects.toThrow(new BadRequest(message));
    },
  );

  it.each([
    ['limit=0x10', "limit must be an integer from 1 to 500; received '0x10'."],
    ['limit=1e2', "limit must be an integer from 1 to 500; received '1e2'."],
    ['limit=%205', "limit must be an integer from 1 to 500; received ' 5'."],
    ['partition=0x1', "partition must be an integer; received '0x1'."],
    ['partition=1.0', "partition must be an integer; received '1.0'."],
  ])(
    'GIVEN %s, which Number() would read THEN 400 naming it, not a page of what it happened to mean',
    async (query, message) => {
      const views = viewsOf({}, uiJobOf(3), Date.now());
      await expect(views.deadLetters(new URLSearchParams(query))).rejects.toThrow(new BadRequest(message));
    },
  );

  /** A position for each partition of uiJobOf(3), as `next` gives them. */
  const allRead = { 'sent-received/test/0': 5, 'sent-received/test/1': -1, 'sent-received/test/2': 0 };

  it('GIVEN a cursor of a position for each partition read, -1 for one read to its end THEN reads on from each', async () => {
    // GIVEN views that record what they are asked for
    const asked: Array<[number, number | null]> = [];
    const views = viewsOf(
      {
        deadLettersBefore: async (_job: string, _topic: string, partition: number, before: number | null) => {
          asked.push([partition, before]);
          return [];
        },
      },
      uiJobOf(3),
      Date.now(),
    );

    // WHEN
    await views.deadLetters(new URLSearchParams({ cursor: encodeCursor(allRead) }));

    // THEN
    expect(asked).toEqual([
      [0, 5],
      [2, 0],
    ]);
  });

  it.each([
    ['an empty array', []],
    ['an array of offsets', [5, 7]],
    ['an object keyed by no partition', { x: 5 }],
    ['an empty object', {}],
    ['keyed by a partition the job does not have', { 'sent-received/test/3': 5 }],
    ['without one of the partitions read', { 'sent-received/test/0': 5, 'sent-received/test/1': -1 }],
    ['keyed by a topic the job does not read', { 'sent-received/other/0': 5 }],
    ['an offset below -1', { ...allRead, 'sent-received/test/0': -2 }],
    ['an offset past a safe integer', { ...allRead, 'sent-received/test/0': 2 ** 60 }],
  ])(
    'GIVEN a cursor that is %s, no page the API returned THEN 400 naming the cursor before asking the store, not page one',
    async (_case, cursor) => {
      // GIVEN views that must not reach the data for a bad request
      const views = viewsOf({}, uiJobOf(3), Date.now());

      // THEN
      await expect(views.deadLetters(new URLSearchParams({ cursor: encodeCursor(cursor) }))).rejects.toThrow(
        new BadRequest(
          'cursor is not one this API returned: pass the `next` value of the previous page as is.',
        ),
      );
    },
  );

  it('answers a reason no dead letter can have with 400 and the reasons there are, not with an empty page', async () => {
    // GIVEN views that must not reach the data for a bad request
    const views = new Views({} as UiData, {} as Sampler, () => []);

    // THEN
    await expect(views.deadLetters(new URLSearchParams('reason=nosuch'))).rejects.toThrow(
      new BadRequest(
        "reason must be one of null-value, oversized, invalid-utf8, invalid-json, schema, late, future, sink-rejected; received 'nosuch'.",
      ),
    );
  });
});

describe('the dead letters pages', () => {
  /** Views over one partition's dead letters, offsets 0..count-1, one a minute; `reasonOf` gives each reason. */
  function pages(
    count: number,
    reasonOf: (offset: number) => string = () => 'schema',
    timeOf: (offset: number) => Date | null = (offset) =>
      new Date(Date.parse('2026-05-21T00:00:00Z') + offset * 60_000),
  ) {
    const letters = Array.from({ length: count }, (_, offset) => ({
      job: 'sent-received',
      topic: 'test',
      partition: 0,
      offset,
      reason: reasonOf(offset),
      detail: '',
      keyBase64: null,
      valueBase64: null,
      recordTimestamp: timeOf(offset),
    }));
    const data = {
      deadLettersBefore: async (_job: string, _t: string, _p: number, before: number | null, limit: number) =>
        letters
          .filter((d) => d.offset < (before ?? Number.MAX_SAFE_INTEGER))
          .reverse()
          .slice(0, limit),
    };
    const views = viewsOf(data, uiJobOf(1), Date.now());
    return async (query: string) => {
      const page = await views.deadLetters(new URLSearchParams(query));
      return { offsets: page.deadLetters.map((d) => d.offset), next: page.next };
    };
  }

  it('GIVEN exactly a page of dead letters THEN offers no older page, which would be empty', async () => {
    // GIVEN 2 dead letters WHEN a page of 2
    const page = await pages(2)('limit=2');

    // THEN
    expect(page).toEqual({ offsets: [1, 0], next: null });
  });

  it('GIVEN a page and one more THEN the older page holds that one and offers no more', async () => {
    // GIVEN 3 dead letters
    const read = pages(3);

    // WHEN two pages of 2
    const first = await read('limit=2');
    const second = await read(`limit=2&cursor=${first.next}`);

    // THEN
    expect(first.offsets).toEqual([2, 1]);
    expect(second).toEqual({ offsets: [0], next: null });
  });

  it('GIVEN a full page of one reason and older dead letters of another THEN offers no older page', async () => {
    // GIVEN offsets 0..4 late, 5 and 6 schema
    const page = await pages(7, (offset) => (offset >= 5 ? 'schema' : 'late'))('limit=2&reason=schema');

    // THEN
    expect(page).toEqual({ offsets: [6, 5], next: null });
  });

  it('GIVEN a dead letter without a record time (Kafka gave none, or one out of range) THEN a time filter passes it by, and still finds the older ones', async () => {
    // GIVEN offsets 0..3 a minute apart from 00:00, offset 2 without a time
    const read = pages(4, undefined, (offset) =>
      offset === 2 ? null : new Date(Date.parse('2026-05-21T00:00:00Z') + offset * 60_000),
    );

    // WHEN from 00:00:30
    const page = await read('from=2026-05-21T00:00:30Z');

    // THEN offset 1 (00:01) is there: the unknown time is no sign that everything older is out of range
    expect(page).toEqual({ offsets: [3, 1], next: null });
  });
});

describe('the job summary', () => {
  it('GIVEN a replay in the last minute THEN its rates and last batch are the live stream’s', async () => {
    // GIVEN a live batch of 600 records and a replay batch of 6,000 after it
    const at = Date.parse('2026-05-21T12:00:00Z');
    const live = {
      batchId: 'live',
      startedAt: new Date(at - 10_000),
      durationMs: 50,
      recordsIn: 600,
      written: 600,
      mode: 'live',
      offsetRanges: [],
    };
    const replay = {
      ...live,
      batchId: 'replay',
      startedAt: new Date(at - 5000),
      recordsIn: 6000,
      written: 0,
      mode: 'replay',
    };
    const asked: Array<(b: BatchRow) => boolean> = [];
    const data = {
      batchesBetween: async () => ({ rows: [live, replay], truncated: false }),
      latestBatch: async (_job: string, _now: Date, accept: (b: BatchRow) => boolean) => {
        asked.push(accept);
        return [replay, live].find((b) => accept(b as unknown as BatchRow)) ?? null;
      },
      metricsBetween: async () => [],
      skippedRanges: async () => [],
      checkpoint: async () => null,
    } as unknown as UiData;
    const uiJob = uiJobOf(1);
    const views = viewsOf(data, uiJob, at);

    // WHEN
    const summary = await views.jobSummary(uiJob);

    // THEN
    expect(summary.inPerSecond).toBe(10);
    expect(summary.writtenPerSecond).toBe(10);
    expect(summary.lastBatch?.batchId).toBe('live');
    expect(asked).toHaveLength(1);
  });
});

describe('the lag series', () => {
  it('GIVEN a consumer that stopped THEN the chart has the group’s members, 0 from then on, beside the lag', async () => {
    // GIVEN three lag samples: a member, then none (the job stopped; its records wait)
    const at = Date.parse('2026-05-21T12:00:00Z');
    const sample = (i: number, members: number, records: number) => ({
      at: new Date(at - (3 - i) * 5000),
      lag: [{ topic: 'test', partition: 0, endOffset: 10 + records, committed: 10, records, seconds: i }],
      lagRecords: records,
      lagSeconds: i,
      groupMembers: members,
      groupState: members ? 'Stable' : 'Empty',
      rollup: null,
    });
    const data = {
      metricsBetween: async () => [sample(0, 1, 0), sample(1, 0, 4), sample(2, 0, 9)],
      batchesBetween: async () => ({ rows: [], truncated: false }),
    } as unknown as UiData;
    const uiJob = uiJobOf(1);
    const views = viewsOf(data, uiJob, at);

    // WHEN
    const { lag } = (await views.series('sent-received', '5m')) as {
      lag: { members: Array<number | null>; partitions: Array<{ records: Array<number | null> }> };
    };

    // THEN
    expect(lag.members).toEqual([1, 0, 0]);
    expect(lag.partitions[0]!.records).toEqual([0, 4, 9]);
  });
});

describe('the active batches', () => {
  it('GIVEN one partition with an open claim and one without THEN the claimed range is the batch in flight', async () => {
    // GIVEN partition 0 claimed [100, 350) 1.5 s ago, partition 1 at rest
    const at = Date.parse('2026-05-21T12:00:00Z');
    const checkpoint = async (_job: string, topic: string, partition: number) => ({
      topic,
      partition,
      nextOffset: partition === 0 ? 100 : 900,
      watermarkMs: null,
      claimId: partition === 0 ? 'c0ffee00-1111' : null,
      claimUntil: partition === 0 ? 350 : null,
      claimTime: partition === 0 ? new Date(at - 1500) : null,
      updatedAt: new Date(at - 1500),
    });
    const uiJob = uiJobOf(2);
    const views = viewsOf({ checkpoint }, uiJob, at);

    // WHEN
    const active = await views.inFlight(uiJob, at);

    // THEN
    expect(active).toEqual([
      {
        topic: 'test',
        partition: 0,
        claimId: 'c0ffee00-1111',
        fromOffset: 100,
        untilOffset: 350,
        records: 250,
        since: '2026-05-21T11:59:58.500Z',
        forMs: 1500,
      },
    ]);
  });
});

describe('the batches view', () => {
  const views = (batchPage: (...args: never[]) => Promise<unknown>) =>
    viewsOf({ batchPage }, uiJobOf(1), Date.now());
  const refused = new BadRequest(
    'cursor is not one this API returned: pass the `next` value of the previous page as is.',
  );

  it.each([
    ['a day that is not on the calendar', { day: '2026-13-45', pageState: null }],
    ['February 30th', { day: '2026-02-30', pageState: null }],
    ['a paging state that is not hex', { day: '2026-05-21', pageState: 'zzzz' }],
    ['a paging state that is a number', { day: '2026-05-21', pageState: 12 }],
  ])('GIVEN a cursor with %s THEN answers 400 before asking the store', async (_case, cursor) => {
    const page = views(() => Promise.reject(new Error('must not be asked')));
    await expect(page.batches('sent-received', null, encodeCursor(cursor))).rejects.toThrow(refused);
  });

  it.each(['0x10', '1e2', ' 5', '5.0', ''])(
    "GIVEN limit='%s', which Number() would read THEN 400 naming it before asking the store",
    async (limit) => {
      const page = views(() => Promise.reject(new Error('must not be asked')));
      await expect(page.batches('sent-received', limit, null)).rejects.toThrow(
        new BadRequest(`limit must be an integer from 1 to 500; received '${limit}'.`),
      );
    },
  );

  it('GIVEN cursor= empty, as README and /api write the first page THEN answers the first page, as /api/dead-letters does', async () => {
    const asked: unknown[] = [];
    const page = views(async (...args: unknown[]) => {
      asked.push(args[2]);
      return { rows: [], next: null };
    });
    await expect(page.batches('sent-received', '20', '')).resolves.toMatchObject({ batches: [], next: null });
    expect(asked).toEqual([null]);
  });

  it('GIVEN a hex paging state Cassandra did not issue THEN answers 400, not that the store is down', async () => {
    const page = views(() => Promise.reject(new Error('Invalid value for the paging state')));
    await expect(
      page.batches('sent-received', null, encodeCursor({ day: '2026-05-21', pageState: '00ff' })),
    ).rejects.toThrow(refused);
  });

  it("GIVEN a batch's start time that is not ISO-8601 THEN answers 400", async () => {
    await expect(views(() => Promise.resolve()).batch('sent-received', '1', 'b1')).rejects.toThrow(
      new BadRequest(
        "The batch's start time must be an ISO-8601 time on a day of the calendar, such as 2026-05-21T02:20:00Z; received '1'.",
      ),
    );
  });
});

describe('hourTotals', () => {
  it('adds up the minutes, and the mean processing time is per batch, not per minute', () => {
    const minute = (
      batches: number,
      durationMsSum: number,
      durationMsMax: number,
      latencyMaxMs: { oldestMs: number; newestMs: number } | null = null,
    ) =>
      ({
        batches,
        recordsIn: batches * 10,
        written: batches * 9,
        durationMsSum,
        durationMsMax,
        latencyMaxMs,
      }) as never;
    expect(
      hourTotals([
        minute(12, 1200, 150, { oldestMs: 5300, newestMs: 90 }),
        minute(0, 0, 0),
        minute(3, 900, 400, { oldestMs: 5100, newestMs: 420 }),
      ]),
    ).toEqual({
      batches: 15,
      recordsIn: 150,
      written: 135,
      meanDurationMs: 140,
      maxDurationMs: 400,
      // The longest of each over the hour, not necessarily of the same minute.
      maxLatencyMs: { oldestMs: 5300, newestMs: 420 },
    });
    expect(hourTotals([minute(0, 0, 0)])).toMatchObject({
      batches: 0,
      meanDurationMs: null,
      maxDurationMs: null,
      maxLatencyMs: null,
    });
  });
});

describe('the series view', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'GIVEN range=%s (a name every object has, not a range) THEN answers 400 naming the ranges, not a 500',
    async (range) => {
      const views = viewsOf(
        { metricsBetween: async () => [], batchesBetween: async () => ({ rows: [], truncated: false }) },
        uiJobOf(1),
        Date.parse('2026-05-21T12:00:00Z'),
      );
      await expect(views.series('sent-received', range)).rejects.toThrow(
        new BadRequest(`range must be one of 5m, 1h, 24h; received '${range}'.`),
      );
    },
  );
});

describe('the hour and day charts', () => {
  it('GIVEN a day of rollups of which the first minutes had no batch THEN plot from the first minute with one', async () => {
    const at = Date.parse('2026-05-21T12:00:00Z');
    const rollup = (batches: number) => ({
      batches,
      recordsIn: batches * 60,
      written: batches * 60,
      deadLettered: 0,
      late: 0,
      durationMsSum: batches * 10,
      durationMsMax: 10,
      phasedBatches: 0,
      phaseSums: { readClaimMs: 0, transformMs: 0, effectsMs: 0, commitMs: 0 },
      watermarkMs: null,
      watermarkGapMs: null,
      deadLetterReasons: {},
      latencyMaxMs: batches ? { oldestMs: 5000 + batches, newestMs: 100 + batches } : null,
    });
    // GIVEN five minutes: nothing, nothing, 2 batches, an idle minute, 3 batches
    const rows = [0, 0, 2, 0, 3].map((batches, i) => ({
      at: new Date(at - (5 - i) * 60_000),
      lag: null,
      lagRecords: null,
      lagSeconds: null,
      groupMembers: null,
      groupState: null,
      rollup: rollup(batches),
    }));
    const data = { metricsBetween: async () => rows } as unknown as UiData;
    const uiJob = uiJobOf(1);
    const views = viewsOf(data, uiJob, at);

    // WHEN
    const series = await views.series('sent-received', '1h');

    // THEN the idle minute after the first batch stays, as a zero; the minutes before the job ran do not
    expect((series as { throughput: { inputRate: number[] } }).throughput.inputRate).toEqual([2, 0, 3]);
    // and the latency chart has each minute's longest, none for the idle minute
    expect(series.latency).toEqual({
      t: series.throughput.t,
      oldest: [5002, null, 5003],
      newest: [102, null, 103],
    });
  });
});

describe('the hour chart of a job that runs', () => {
  /** A minute's metrics row with its rollup: `recordsIn` records in batches of 20, `rollup` overriding the rest. */
  const minuteRow = (start: string, recordsIn: number, rollup: Partial<Rollup> = {}) => ({
    at: new Date(start),
    lag: null,
    lagRecords: null,
    lagSeconds: null,
    groupMembers: null,
    groupState: null,
    rollup: {
      batches: recordsIn / 20,
      recordsIn,
      written: recordsIn,
      deadLettered: 0,
      late: 0,
      durationMsSum: recordsIn,
      liveDurationMsSum: null,
      durationMsMax: 20,
      phasedBatches: 0,
      phaseSums: { readClaimMs: 0, transformMs: 0, effectsMs: 0, commitMs: 0 },
      watermarkMs: null,
      watermarkGapMs: null,
      deadLetterReasons: {},
      latencyMaxMs: null,
      ...rollup,
    },
  });

  it('GIVEN a steady 4 records/s and the current minute 10 s old THEN its latest input rate is 4/s, not the 40 records so far over 60 s', async () => {
    // GIVEN rollups of two whole minutes and of the current one, 10 s in, all at 4 records a second
    const at = Date.parse('2026-05-21T12:00:10Z');
    const minute = (start: string, recordsIn: number) => minuteRow(start, recordsIn);
    const rows = [
      minute('2026-05-21T11:58:00Z', 240),
      minute('2026-05-21T11:59:00Z', 240),
      minute('2026-05-21T12:00:00Z', 40),
    ];
    const views = viewsOf({ metricsBetween: async () => rows }, uiJobOf(1), at);

    // WHEN
    const series = await views.series('sent-received', '1h');

    // THEN every point, the latest (the one the chart's legend shows) included, is the job's 4 records/s
    const rates = series.throughput.inputRate;
    expect(rates.length).toBeGreaterThan(0);
    for (const rate of rates) expect(rate).toBeCloseTo(4);
  });

  it("GIVEN a replay in a minute THEN the process rate is the live records over the live batches' time", async () => {
    // GIVEN two whole minutes of 600 live records in 600 ms of live batches; the second also ran a replay for 1 s,
    // and a third, from before the live sum was kept, has the total alone
    const at = Date.parse('2026-05-21T12:03:10Z');
    const minute = (start: string, durationMsSum: number, liveDurationMsSum: number | null) =>
      minuteRow(start, 600, { durationMsSum, liveDurationMsSum });
    const rows = [
      minute('2026-05-21T12:00:00Z', 600, 600),
      minute('2026-05-21T12:01:00Z', 1600, 600),
      minute('2026-05-21T12:02:00Z', 600, null),
    ];
    const views = viewsOf({ metricsBetween: async () => rows }, uiJobOf(1), at);

    // WHEN
    const series = await views.series('sent-received', '1h');

    // THEN each minute processed its live records at 1,000/s: the replay's second is not the live stream's
    expect(series.throughput.processRate).toEqual([1000, 1000, 1000]);
  });
});

describe('the 5-minute charts', () => {
  it("GIVEN live batches and a replay THEN plots each live batch's record latencies, and none for the replay", async () => {
    // GIVEN
    const at = Date.parse('2026-05-21T12:00:00Z');
    const batch = (id: string, startMs: number, mode: string, timestamps: [number, number] | null) => ({
      job: 'sent-received',
      batchId: id,
      startedAt: new Date(at - startMs),
      durationMs: 40,
      recordsIn: 10,
      written: 10,
      deadLettered: 0,
      late: 0,
      mode,
      offsetRanges: [{ topic: 'test', partition: 0, fromOffset: 0, untilOffset: 10 }],
      watermarkMs: null,
      phases: null,
      recordTimestamps: timestamps && { oldestMs: at - timestamps[0], newestMs: at - timestamps[1] },
    });
    const rows = [
      batch('a', 60_000, 'live', [65_000, 60_030]), // ends at -59,960: 5,040 and 70
      batch('r', 50_000, 'replay', [86_400_000, 3_600_000]),
      batch('b', 40_000, 'live', null), // a ledger row from before the timestamps were kept
    ];
    const data = {
      metricsBetween: async () => [],
      batchesBetween: async () => ({ rows, truncated: false }),
    } as unknown as UiData;
    const views = viewsOf(data, uiJobOf(1), at);

    // WHEN
    const series = await views.series('sent-received', '5m');

    // THEN
    expect(series.batchIds).toEqual(['a', 'r', 'b']);
    expect(series.latency).toMatchObject({ oldest: [5040, null, null], newest: [70, null, null] });
  });
});
