import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MicroBatcher, recordBytes, toKafkaRecord } from '../../local/runner';
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

describe('MicroBatcher', () => {
  it('closes a batch at batchSize, keeping arrival order', async () => {
    const b = new MicroBatcher(3, 10_000, 6 * 1024 * 1024, 100);
    void b.enqueue([rec(0, 0), rec(0, 1)]);
    void b.enqueue([rec(1, 5), rec(1, 6)]);
    const batch = await b.next(() => false);
    expect(batch.map((i) => `${i.record.partition}:${i.record.offset}`)).toEqual(['0:0', '0:1', '1:5']);
    expect(b.buffered).toBe(1);
  });

  it('closes a batch when the window ends, however few records it has', async () => {
    const b = new MicroBatcher(100, 300, 6 * 1024 * 1024, 100);
    void b.enqueue([rec(0, 0)]);
    const started = Date.now();
    const batch = await b.next(() => false);
    expect(batch).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
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

  it('returns nothing once stopped, leaving the buffered records uncommitted', async () => {
    const b = new MicroBatcher(10, 10_000, 6 * 1024 * 1024, 100);
    void b.enqueue([rec(0, 1)]);
    expect(await b.next(() => true)).toEqual([]);
    expect(b.buffered).toBe(1);
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
    const r = toKafkaRecord('test', 2, {
      offset: '41',
      timestamp: '1779330000000',
      attributes: 0x08,
      key: Buffer.from('k'),
      value: null,
      headers: { h: Buffer.from('v'), multi: ['a', 'b'] },
    });
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
});
