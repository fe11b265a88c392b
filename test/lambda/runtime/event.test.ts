import { describe, expect, it } from 'vitest';
import { eventPayloadBytes, parseMskEvent, splitRecordsKey, toMskEvent } from '../../../lambda/runtime/event';
import { EventShapeError } from '../../../lambda/runtime/errors';
import { fixtureEvent } from '../../support/fixtures';

describe('parseMskEvent', () => {
  it('groups records per partition with bigint offsets, null keys and headers', () => {
    // Prepare
    const event = fixtureEvent('sent-received');

    // Act
    const batch = parseMskEvent(event);

    // Assess
    expect(batch.recordCount).toBe(4);
    expect(batch.partitions.map((p) => `${p.topic}-${p.partition}`)).toEqual(['test-0', 'test-1', 'test-2']);
    const [p0, p1, p2] = batch.partitions;
    expect(p0!.records.map((r) => r.offset)).toEqual([15n, 16n]);
    expect(p0!.records[0]!.key).toBeNull();
    expect(p0!.records[0]!.value!.toString()).toBe('2026-05-21 02:20:00');
    expect(p0!.records[0]!.headers).toEqual([{ key: 'producer', value: Buffer.from('tutorial') }]);
    expect(p1!.records[0]!.key!.toString()).toBe('k1');
    // Java's signed bytes come back as the unsigned bytes they stand for.
    expect([...p2!.records[0]!.headers[0]!.value!]).toEqual([255, 0, 127]);
    expect(batch.eventSourceArn).toMatch(/^arn:aws:kafka:/);
  });

  it('carries a header without a value as null, as Kafka does (issue 8, fix 6)', () => {
    // Prepare: a legal Kafka record whose header has no value.
    const event = fixtureEvent('sent-received') as {
      records: Record<string, Array<{ headers: unknown[] }>>;
    };
    event.records['test-0']![0]!.headers = [{ trace: null }, { producer: [116] }];

    // Act
    const batch = parseMskEvent(event);

    // Assess
    expect(batch.partitions[0]!.records[0]!.headers).toEqual([
      { key: 'trace', value: null },
      { key: 'producer', value: Buffer.from('t') },
    ]);
    // And back into the event unchanged.
    const again = toMskEvent(batch.partitions[0]!.records, { eventSourceArn: 'a', bootstrapServers: 'b' });
    expect(again.records['test-0']![0]!.headers).toEqual([{ trace: null }, { producer: [116] }]);
  });

  it('keeps a missing value as null rather than failing the whole batch', () => {
    const batch = parseMskEvent(fixtureEvent('sent-received-bad-payloads'));
    expect(batch.partitions[0]!.records.find((r) => r.offset === 21n)!.value).toBeNull();
  });

  it('sorts records by offset and drops an offset repeated inside one event', () => {
    const event = fixtureEvent('sent-received') as { records: Record<string, unknown[]> };
    const list = event.records['test-0']!;
    event.records['test-0'] = [list[1], list[0], structuredClone(list[1])];
    const batch = parseMskEvent(event);
    expect(batch.partitions[0]!.records.map((r) => r.offset)).toEqual([15n, 16n]);
  });

  it('splits the records key at the last dash, so topics may contain dashes', () => {
    expect(splitRecordsKey('sensor-readings-12')).toEqual({ topic: 'sensor-readings', partition: 12 });
  });

  it.each([
    ['a non-object event', () => 'nope', /event: expected an object/],
    [
      'a wrong eventSource',
      (e: Record<string, unknown>) => ({ ...e, eventSource: 'aws:sqs' }),
      /eventSource: expected 'aws:kafka'/,
    ],
    [
      'records that are not an object',
      (e: Record<string, unknown>) => ({ ...e, records: [] }),
      /at records: expected an object/,
    ],
    [
      'a key without a partition',
      (e: Record<string, unknown>) => ({ ...e, records: { test: [] } }),
      /records\["test"\]/,
    ],
  ])('fails on %s, naming the field', (_name, mutate, message) => {
    expect(() => parseMskEvent(mutate(fixtureEvent('sent-received')))).toThrow(message);
  });

  it('ends every shape error with what to invoke the function with', () => {
    expect(() => parseMskEvent({ eventSource: 'aws:sqs', records: {} })).toThrow(
      'received "aws:sqs". A consumer takes the events of its Kafka event source mapping (Amazon MSK or ' +
        'self-managed Kafka); invoke it with one: https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html#msk-sample-event',
    );
  });

  it('fails on a float offset, naming the record', () => {
    const event = fixtureEvent('sent-received') as {
      records: Record<string, Array<Record<string, unknown>>>;
    };
    event.records['test-1']![0]!.offset = 7.5;
    expect(() => parseMskEvent(event)).toThrow(
      /records\["test-1"\]\[0\]\.offset: expected a non-negative integer offset/,
    );
  });

  it('fails on an offset past 2^53 - 1 saying that the JSON number lost it, not that it is not an integer', () => {
    // GIVEN an offset as the event's JSON carries it, one past Number.MAX_SAFE_INTEGER
    const text = JSON.stringify(fixtureEvent('sent-received')).replace(
      '"offset":7,',
      '"offset":9007199254740993,',
    );
    // WHEN the runtime's JSON.parse has read it (to 9007199254740992) and the handler checks it
    const event: unknown = JSON.parse(text);
    // THEN the message says why the offset cannot be taken
    expect(() => parseMskEvent(event)).toThrow(
      /records\["test-1"\]\[0\]\.offset: the offset 9007199254740992 is past 2\^53 - 1 \(9007199254740991\)/,
    );
  });

  it('fails on a value that is not base64', () => {
    const event = fixtureEvent('sent-received') as {
      records: Record<string, Array<Record<string, unknown>>>;
    };
    event.records['test-0']![1]!.value = 'not base64!';
    expect(() => parseMskEvent(event)).toThrow(EventShapeError);
    expect(() => parseMskEvent(event)).toThrow(/records\["test-0"\]\[1\]\.value/);
  });

  it.each([
    ['a character base64 does not have', 'dGVz dA=='],
    ['the URL-safe alphabet', 'dGVz-_=='],
    ['a length that is not a multiple of 4', 'dGVzdA='],
    ['padding in the middle', 'dG==dA=='],
  ])('fails on a value with %s, though Node would decode it', (_what, value) => {
    const event = fixtureEvent('sent-received') as {
      records: Record<string, Array<Record<string, unknown>>>;
    };
    event.records['test-0']![0]!.value = value;
    expect(() => parseMskEvent(event)).toThrow(/records\["test-0"\]\[0\]\.value: expected a base64 string/);
  });

  it('decodes padded and empty values exactly', () => {
    const event = fixtureEvent('sent-received') as {
      records: Record<string, Array<Record<string, unknown>>>;
    };
    const values = ['', 'a', 'ab', 'abc', 'abcd'];
    event.records['test-0'] = values.map((v, i) => ({
      ...event.records['test-0']![0]!,
      offset: i,
      value: Buffer.from(v).toString('base64'),
    }));
    const batch = parseMskEvent(event);
    const part = batch.partitions.find((p) => p.partition === 0)!;
    expect(part.records.map((r) => r.value?.toString())).toEqual(values);
  });

  it('fails on a record filed under another partition', () => {
    const event = fixtureEvent('sent-received') as {
      records: Record<string, Array<Record<string, unknown>>>;
    };
    event.records['test-0']![0]!.partition = 2;
    expect(() => parseMskEvent(event)).toThrow(/\.partition: expected 0 \(from the records key\)/);
  });
});

describe('toMskEvent', () => {
  it('round-trips through parseMskEvent', () => {
    const original = parseMskEvent(fixtureEvent('sent-received'));
    const records = original.partitions.flatMap((p) => p.records);
    const event = toMskEvent(records, { eventSourceArn: 'arn:local', bootstrapServers: 'localhost:9092' });
    const again = parseMskEvent(JSON.parse(JSON.stringify(event)));
    expect(again.partitions).toEqual(original.partitions);
    expect(eventPayloadBytes(event)).toBe(Buffer.byteLength(JSON.stringify(event)));
  });
});
