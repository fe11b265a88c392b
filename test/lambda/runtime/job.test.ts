/**
 * A job's definition is checked where it is written (`defineJob`), and the job its `create()` builds is checked
 * against it (`createJob`, which every entry point uses): both fail with the job and the fix, instead of synth
 * failing with a stack trace, a deploy failing, or every cold start failing in the cloud.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { loadConfig, objectGetter } from '../../../config';
import { option } from '../../../config/jobs';
import { utf8 } from '../../../lambda/runtime/decoders';
import {
  createJob,
  defineJob,
  defineTransformJob,
  defineWindowJob,
  jobConfigOf,
  type JobDefinition,
} from '../../../lambda/runtime/job';
import { windowTable, type TableDef, type TopicDef } from '../../../schema';

const TOPIC: TopicDef = { name: 'orders', doc: 'test', partitions: 3 };
const ORDERS: TableDef = {
  name: 'orders',
  doc: 'test',
  columns: [
    { name: 'id', type: 'text', doc: '' },
    { name: 'amount', type: 'double', doc: '' },
  ],
  partitionKey: ['id'],
  clustering: [],
  defaultTtlSeconds: 0,
};
const transform = (name = 'orders', topics = ['orders'], tables = [ORDERS]) =>
  defineTransformJob({ name, topics, decoder: utf8(), sinkTables: tables, transform: () => [] });

const ORDER_TOTALS = windowTable({
  name: 'order_totals',
  doc: 'test',
  keyColumn: 'customer',
  keyDoc: 'test',
});
/** A window job over `orders`, one total per customer and window. */
const orderTotals = (window: { sizeMs: number; slideMs: number }, maxEventTimeAheadMs?: number) =>
  defineWindowJob({
    name: 'order-totals',
    topics: ['orders'],
    decoder: utf8(),
    table: ORDER_TOTALS,
    window,
    allowedLatenessMs: 0,
    ...(maxEventTimeAheadMs === undefined ? {} : { maxEventTimeAheadMs }),
    eventTime: () => 0,
    key: () => 'c',
    measure: () => 1,
  });

function orders(overrides: Partial<JobDefinition> = {}): JobDefinition {
  return defineJob({
    name: 'orders',
    doc: 'test',
    kind: 'transform',
    topics: [TOPIC],
    tables: [ORDERS],
    options: {},
    create: () => transform(),
    ...overrides,
  } as JobDefinition);
}

describe('defineJob', () => {
  it.each([
    [
      'a table name with a dash',
      { tables: [{ ...ORDERS, name: 'my-orders' }] },
      "table 'my-orders': its name 'my-orders' is not a letter followed by up to 47 letters, digits or underscores",
    ],
    [
      'a column defined twice',
      { tables: [{ ...ORDERS, columns: [...ORDERS.columns, { name: 'amount', type: 'text', doc: '' }] }] },
      "table 'orders': column 'amount' is defined twice",
    ],
    [
      'an empty partition key',
      { tables: [{ ...ORDERS, partitionKey: [] }] },
      "table 'orders': its partitionKey is empty: name at least one column",
    ],
    [
      'a key column it does not define',
      { tables: [{ ...ORDERS, partitionKey: ['orderId'] }] },
      "table 'orders': key column 'orderId' is not one of its columns",
    ],
    [
      'a column of no CQL type',
      { tables: [{ ...ORDERS, columns: [...ORDERS.columns, { name: 'at', type: 'date', doc: '' }] }] },
      "table 'orders': column 'at' has type 'date': expected one of text, int, bigint, double, timestamp, boolean",
    ],
    [
      'a topic of no partitions',
      { topics: [{ ...TOPIC, partitions: 0 }] },
      "topic 'orders': partitions is 0: expected an integer from 1 to 1000",
    ],
    [
      'an int option whose default is outside its range',
      { options: { windowSeconds: option.int({ default: 30, min: 60, max: 100, doc: '' }) } },
      "option 'windowSeconds': its default 30 is not an integer from 60 to 100",
    ],
    [
      'an enum option whose default is not a value',
      { options: { currency: { type: 'enum', default: 'GBP', values: ['EUR', 'USD'], doc: '' } } },
      "option 'currency': its default 'GBP' is not one of its values (EUR, USD)",
    ],
    [
      'demo data at a negative rate',
      { sample: { ratePerSecond: -2, make: () => ({ value: 'x' }) } },
      'sample.ratePerSecond is -2: expected a positive number of records a second',
    ],
    [
      'a table named after a CQL reserved word',
      { tables: [{ ...ORDERS, name: 'select' }] },
      "table 'select': its name 'select' is a CQL reserved word, which no statement can name unquoted",
    ],
  ])(
    'GIVEN %s THEN refuses the definition, naming the job, the problem and its file',
    (_case, overrides, problem) => {
      expect(() => orders(overrides as Partial<JobDefinition>)).toThrow(
        `Job 'orders' is not valid: ${problem}. Fix it in lambda/jobs/orders.ts.`,
      );
    },
  );

  it('GIVEN enum values written inline THEN the option keeps their literal type', () => {
    const currency = option.oneOf({ default: 'EUR', values: ['EUR', 'USD'], doc: '' });
    expectTypeOf(currency.default).toEqualTypeOf<'EUR' | 'USD'>();
  });
});

describe('createJob', () => {
  const build = (definition: JobDefinition) =>
    createJob(definition, jobConfigOf(definition, loadConfig(objectGetter({}), [definition])));

  it('GIVEN create() builds what the definition declares THEN returns the job', () => {
    expect(build(orders()).name).toBe('orders');
  });

  it.each([
    [
      'another name',
      () => transform('other-name'),
      "declares name 'orders', but create() built a job with name 'other-name'",
    ],
    [
      'another topic',
      () => transform('orders', ['payments']),
      'declares topics [orders], but create() built a job with topics [payments]',
    ],
    [
      'an undeclared table',
      () => transform('orders', ['orders'], [{ ...ORDERS, name: 'w1' }]),
      'declares tables [orders], but create() built a job with tables [w1]',
    ],
  ])(
    'GIVEN create() builds a job with %s THEN fails, saying what differs and where to fix it',
    (_case, create, message) => {
      expect(() => build(orders({ create }))).toThrow(
        `Job 'orders': its definition ${message}. Make create() use the definition's own values (its file: lambda/jobs/orders.ts).`,
      );
    },
  );

  it("GIVEN a window job whose create() uses another window than windowOf THEN fails: queries would read the other one's rows", () => {
    const totals = defineJob({
      name: 'order-totals',
      doc: 'test',
      kind: 'window',
      topics: [TOPIC],
      tables: [ORDER_TOTALS],
      options: { windowSeconds: option.int({ default: 60, min: 1, max: 3600, doc: '' }) },
      windowOf: ({ windowSeconds }) => ({ sizeMs: windowSeconds * 1000, slideMs: windowSeconds * 1000 }),
      create: () => orderTotals({ sizeMs: 60_000, slideMs: 30_000 }),
    });
    expect(() => build(totals as unknown as JobDefinition)).toThrow(
      'declares window (windowOf) 60000/60000 ms, but create() built a job with window 60000/30000 ms (size/slide)',
    );
  });
});

describe('defineTransformJob and defineWindowJob', () => {
  it.each(['a-', 'a--b', 'Orders'])("GIVEN the name '%s' THEN refuses it, as new job does", (name) => {
    expect(() => transform(name)).toThrow(
      `Job name '${name}' is invalid: use lower-case letters, digits and single dashes`,
    );
  });

  it('GIVEN a window of no size THEN the error names the job', () => {
    expect(() => orderTotals({ sizeMs: 0, slideMs: 0 })).toThrow(
      /^Job 'order-totals': Window sizeMs must be a positive integer, received 0\./,
    );
  });

  it.each([0, -1, 1.5])('GIVEN maxEventTimeAheadMs %s THEN refuses it, saying how to have no limit', (ms) => {
    expect(() => orderTotals({ sizeMs: 1000, slideMs: 1000 }, ms)).toThrow(
      `Job 'order-totals': maxEventTimeAheadMs must be a positive integer of milliseconds, received ${ms}; leave it out for no limit.`,
    );
  });
});
