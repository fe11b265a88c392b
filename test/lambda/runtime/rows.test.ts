/**
 * A transform job's rows against their table (lambda/runtime/rows.ts): what each column type takes, checked
 * against cassandra-driver's own encoder with the options the project's client uses, and what a job's mistake
 * does to a micro-batch run on the in-memory stores, the way a job's generated unit test runs it.
 */
import { describe, expect, it } from 'vitest';
// The driver's encoder, as its Client uses it (protocol v4, useBigIntAsLong as in cassandra-connect.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Encoder = require('cassandra-driver/lib/encoder') as new (
  version: number,
  options: object,
) => { encode(value: unknown, type: number): Buffer };
import { runMicroBatch } from '../../../lambda/runtime/batch';
import { SchemaViolation, utf8 } from '../../../lambda/runtime/decoders';
import { defineTransformJob, defineWindowJob, type Row } from '../../../lambda/runtime/job';
import { checkedRow, JobError } from '../../../lambda/runtime/rows';
import { RecordError } from '../../../lambda/runtime/errors';
import { DEAD_LETTERS, windowTable, type CqlType, type TableDef } from '../../../schema';
import { batchOf } from '../../support/events';
import { MemoryCheckpointStore, MemorySinkStore } from '../../support/memory-store';

const CLICKS: TableDef = {
  name: 'clicks',
  doc: 'test',
  columns: [
    { name: 'url', type: 'text', doc: '' },
    { name: 'ts', type: 'bigint', doc: '' },
    { name: 'seen_at', type: 'timestamp', doc: '' },
    { name: 'status', type: 'int', doc: '' },
    { name: 'score', type: 'double', doc: '' },
    { name: 'bot', type: 'boolean', doc: '' },
  ],
  partitionKey: ['url'],
  clustering: [{ name: 'ts', order: 'DESC' }],
  defaultTtlSeconds: 0,
};
const OTHER: TableDef = { ...CLICKS, name: 'other' };
const job = { name: 'clicks', sinkTables: [CLICKS] };
const row = (values: Record<string, unknown>): Row => ({
  table: CLICKS,
  values: { url: '/a', ts: 1_732_000_000_000n, ...values },
});

// The driver's type codes: https://github.com/apache/cassandra/blob/trunk/doc/native_protocol_v4.spec (6.x).
const TYPE_CODE: Record<CqlType, number> = {
  text: 0x0d,
  int: 0x09,
  bigint: 0x02,
  double: 0x07,
  timestamp: 0x0b,
  boolean: 0x04,
};
const encoder = new Encoder(4, { encoding: { useBigIntAsLong: true } });

const ACCEPTED: Array<[CqlType, unknown]> = [
  ['text', 'hello'],
  ['int', -(2 ** 31)],
  ['int', 2 ** 31 - 1],
  ['bigint', 2n ** 63n - 1n],
  ['bigint', 1_732_000_000_000],
  ['double', 1.5],
  ['timestamp', new Date('2026-05-21T02:20:00Z')],
  ['timestamp', 1_732_000_000_000],
  ['boolean', false],
];
const REFUSED: Array<[CqlType, unknown, string]> = [
  ['text', 42, 'a string'],
  ['int', 1.5, 'an integer from -2147483648 to 2147483647'],
  ['int', 2 ** 31, 'an integer from -2147483648 to 2147483647'],
  ['bigint', 1.5, 'a bigint, or a number that is a safe integer'],
  ['bigint', 2 ** 60, 'a bigint, or a number that is a safe integer'],
  ['bigint', '12', 'a bigint, or a number that is a safe integer'],
  ['double', '1.5', 'a number'],
  ['timestamp', new Date('nope'), 'a valid Date, or integer epoch milliseconds'],
  ['timestamp', '2026-05-21', 'a valid Date, or integer epoch milliseconds'],
  ['boolean', 'false', 'true or false'],
];
const columnOf = (type: CqlType) =>
  CLICKS.columns.find((c) => c.type === type && c.name !== 'ts' && c.name !== 'url')?.name ??
  (type === 'bigint' ? 'ts' : 'url');

describe('checkedRow', () => {
  it.each(ACCEPTED)('GIVEN a %s column and %s THEN keeps it, as the driver encodes it', (type, value) => {
    const name = columnOf(type);
    const checked = checkedRow(job, row({ [name]: value }));
    expect(() => encoder.encode(checked.values[name], TYPE_CODE[type])).not.toThrow();
  });

  it('GIVEN a number for a bigint column THEN writes it as a bigint, which the driver alone would refuse', () => {
    expect(() => encoder.encode(1_732_000_000_000, TYPE_CODE.bigint)).toThrow(TypeError);
    const given = row({ ts: 1_732_000_000_000 });
    expect(checkedRow(job, given).values['ts']).toBe(1_732_000_000_000n);
    expect(given.values['ts']).toBe(1_732_000_000_000);
  });

  it.each(REFUSED)(
    'GIVEN a %s column and %s THEN dead-letters the record, naming the column and the type',
    (type, value, expected) => {
      const name = columnOf(type);
      let error: unknown;
      try {
        checkedRow(job, row({ [name]: value }));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RecordError);
      expect((error as RecordError).reason).toBe('schema');
      expect((error as Error).message).toContain(
        `Table 'clicks', column '${name}' (${type}): expected ${expected}, received `,
      );
    },
  );

  it('GIVEN no value for a key column THEN dead-letters the record; GIVEN none for another column THEN writes null', () => {
    expect(() => checkedRow(job, { table: CLICKS, values: { ts: 1n } })).toThrow(
      new RecordError(
        'schema',
        "Table 'clicks', key column 'url': the job gave it no value (undefined); every key column needs one.",
      ),
    );
    expect(checkedRow(job, row({ status: null })).values['status']).toBeNull();
  });

  it("GIVEN a column the table does not have THEN fails the batch, naming the table's columns", () => {
    expect(() => checkedRow(job, row({ recieved_at: 1 }))).toThrow(
      new JobError(
        "Job 'clicks' wrote column 'recieved_at' to table 'clicks', which has no such column (its columns: url, ts, seen_at, status, score, bot): fix the name in the job's transform.",
      ),
    );
  });

  it('GIVEN a misspelt key column THEN fails the batch too, rather than dead-lettering every record', () => {
    expect(() => checkedRow(job, { table: CLICKS, values: { urll: '/a', ts: 1n } })).toThrow(JobError);
  });

  it('GIVEN a row for a copy of a declared table THEN takes it as that table', () => {
    expect(checkedRow(job, { table: { ...CLICKS }, values: { url: '/a', ts: 1 } }).values['ts']).toBe(1n);
  });

  it('GIVEN a row for a table the job does not declare THEN fails the batch', () => {
    for (const table of [OTHER, DEAD_LETTERS])
      expect(() => checkedRow(job, { table, values: {} })).toThrow(
        `Job 'clicks' returned a row for table '${table.name}', which is not one of its sinkTables (clicks)`,
      );
  });
});

/** A transform job on `clicks` writing to CLICKS what `transform` returns for each record's text. */
const clicksJob = (transform: (value: string) => Row[]) =>
  defineTransformJob({
    name: 'clicks',
    topics: ['clicks'],
    decoder: utf8(),
    sinkTables: [CLICKS],
    transform,
  });

describe('a job whose rows or values are wrong, run on the in-memory stores', () => {
  const stores = () => ({
    checkpoints: new MemoryCheckpointStore(),
    sink: new MemorySinkStore(),
    log: () => undefined,
  });

  it('GIVEN a record whose value does not fit its column THEN dead-letters it, and its other row too; the rest goes on', async () => {
    const twoRows = clicksJob((value) => [
      { table: CLICKS, values: { url: `/${value}`, ts: 1 } },
      { table: CLICKS, values: { url: `/${value}`, ts: value === 'bad' ? 'soon' : 2 } },
    ]);
    const deps = stores();
    const report = await runMicroBatch(twoRows, batchOf('clicks', ['a', 'bad', 'b']), deps);
    expect(report).toMatchObject({ recordsIn: 3, written: 2, deadLettered: 1 });
    expect(
      deps.sink
        .rows(CLICKS)
        .map((r) => `${String(r['url'])} ${String(r['ts'])}`)
        .sort(),
    ).toEqual(['/a 1', '/a 2', '/b 1', '/b 2']);
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([
      expect.objectContaining({ reason: 'schema', detail: expect.stringContaining("column 'ts' (bigint)") }),
    ]);
  });

  it('GIVEN a SchemaViolation from transform, or an empty key from a window job THEN dead-letters the record', async () => {
    const transform = clicksJob((value) => {
      if (value === 'bad') throw new SchemaViolation('$', 'not a click');
      return [{ table: CLICKS, values: { url: value, ts: 1 } }];
    });
    expect(await runMicroBatch(transform, batchOf('clicks', ['a', 'bad']), stores())).toMatchObject({
      written: 1,
      deadLettered: 1,
    });

    const table = windowTable({ name: 'click_counts', doc: 'test', keyColumn: 'url', keyDoc: 'test' });
    const windows = defineWindowJob({
      name: 'click-counts',
      topics: ['clicks'],
      decoder: utf8(),
      table,
      window: { sizeMs: 60_000, slideMs: 60_000 },
      allowedLatenessMs: 0,
      eventTime: () => Date.UTC(2026, 4, 21),
      key: (value) => (value === 'bad' ? '' : value),
      measure: () => 1,
    });
    const deps = stores();
    expect(await runMicroBatch(windows, batchOf('clicks', ['a', 'bad']), deps)).toMatchObject({
      written: 1,
      deadLettered: 1,
    });
    expect(deps.sink.rows(DEAD_LETTERS)[0]).toMatchObject({
      reason: 'schema',
      detail: 'The job\'s key is "": expected a non-empty string.',
    });
  });

  it('GIVEN a misspelt column THEN the batch fails, applying nothing', async () => {
    const misspelt = clicksJob((value) => [
      { table: CLICKS, values: { url: value, ts: 1, seenAt: new Date() } },
    ]);
    const deps = stores();
    await expect(runMicroBatch(misspelt, batchOf('clicks', ['a']), deps)).rejects.toThrow(JobError);
    expect(deps.sink.rows(CLICKS)).toEqual([]);
  });
});
