import { describe, expect, it } from 'vitest';
import { processPartition } from '../../../lambda/runtime/checkpoint';
import { kafkaRangeReader, redrivePending, type RedriveDeps } from '../../../lambda/runtime/redrive';
import type { Kafka } from 'kafkajs';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { SENT_RECEIVED } from '../../../schema';
import { MemoryCheckpointStore, MemorySinkStore } from '../../support/memory-store';
import { TUTORIAL_T0, tutorialLog } from '../../support/tutorial-log';
import { redriveApply } from '../../support/redrive';

const T0 = TUTORIAL_T0;
const job = createSentReceivedJob({ timeFormat: 'tutorial', failOnDataLoss: false });
const log = tutorialLog(15);

describe('redrivePending', () => {
  it('GIVEN two redrives of the same range at once THEN the range is applied once, and so is it counted', async () => {
    // GIVEN: the live job applied [0, 5), the event source gave up on [5, 10), and the next batch found the gap.
    const checkpoints = new MemoryCheckpointStore();
    const sink = new MemorySinkStore();
    const clock = () => new Date(T0 + 3_600_000);
    const live = (from: number, until: number) =>
      processPartition(
        job,
        { topic: 'test', partition: 0, records: log.slice(from, until) },
        { checkpoints, sink, clock, batchId: `live-${from}`, warn: () => undefined },
      );
    await live(0, 5);
    await live(10, 15);
    const deps: RedriveDeps = {
      checkpoints,
      partitions: async () => [0],
      read: async (_topic, ranges, onRecords) => {
        for (const [partition, { from, until }] of ranges)
          await onRecords(
            partition,
            log.filter((r) => r.offset >= from && r.offset < until),
            { readUpTo: until, logStart: 0n },
          );
      },
      apply: redriveApply(job, { checkpoints, sink, clock }),
    };

    // WHEN
    const [a, b] = await Promise.all([redrivePending(job, deps), redrivePending(job, deps)]);

    // THEN: five rows, and five records between the two reports, not five each.
    expect(sink.rows(SENT_RECEIVED)).toHaveLength(15);
    expect(sink.conflicts).toEqual([]);
    expect([...checkpoints.skipped.values()][0]!.get(5n)).toMatchObject({ status: 'redriven', redriven: 5 });
    expect(a.redrivenRecords + b.redrivenRecords).toBe(5);
    expect(a.stillPending).toEqual([]);
    expect(b.stillPending).toEqual([]);
  });
});

describe('redrivePending, records of a range gone from Kafka', () => {
  it('GIVEN the first offsets of a skipped range deleted by retention THEN reports them as lost, and the rest as redriven', async () => {
    // GIVEN the live job applied [0, 5) and [10, 15), [5, 10) is pending, and Kafka no longer has offsets 5 and 6
    const checkpoints = new MemoryCheckpointStore();
    const sink = new MemorySinkStore();
    const clock = () => new Date(T0 + 3_600_000);
    for (const [from, until] of [
      [0, 5],
      [10, 15],
    ] as const)
      await processPartition(
        job,
        { topic: 'test', partition: 0, records: log.slice(from, until) },
        { checkpoints, sink, clock, batchId: `live-${from}`, warn: () => undefined },
      );
    const deps: RedriveDeps = {
      checkpoints,
      partitions: async () => [0],
      // The reader starts where it was asked (5): the log begins at 7.
      read: async (_topic, ranges, onRecords) => {
        for (const [partition, { until }] of ranges)
          await onRecords(
            partition,
            log.filter((r) => r.offset >= 7n && r.offset < until),
            { readUpTo: until, logStart: 7n },
          );
      },
      apply: redriveApply(job, { checkpoints, sink, clock }),
    };

    // WHEN
    const summary = await redrivePending(job, deps);

    // THEN offsets 5 and 6 are counted as lost, in the range and in this run's report; 7, 8 and 9 are applied
    expect(summary).toEqual({ attempted: 1, stillPending: [], redrivenRecords: 3, lost: 2n });
    expect([...checkpoints.skipped.values()][0]!.get(5n)).toMatchObject({
      status: 'redriven',
      redriven: 3,
      lost: 2n,
    });
    expect(sink.rows(SENT_RECEIVED)).toHaveLength(13);
  });
});

describe('redrivePending, offsets Kafka holds but never delivers (transaction markers, aborted records)', () => {
  /**
   * The live job applied [0, 5) and then a batch from `nextLive` on, so [5, nextLive) is a pending skipped range;
   * of it, Kafka delivers only the records at `delivered` (the rest are a transaction's marker and aborted records).
   */
  async function afterGap(nextLive: number, delivered: readonly number[]) {
    const checkpoints = new MemoryCheckpointStore();
    const sink = new MemorySinkStore();
    const clock = () => new Date(T0 + 3_600_000);
    for (const [from, until] of [
      [0, 5],
      [nextLive, 15],
    ] as const)
      await processPartition(
        job,
        { topic: 'test', partition: 0, records: log.slice(from, until) },
        { checkpoints, sink, clock, batchId: `live-${from}`, warn: () => undefined },
      );
    const deps: RedriveDeps = {
      checkpoints,
      partitions: async () => [0],
      // Read from the range's start, as kafkaRangeReader does: the records Kafka delivers, then how far it got.
      read: async (_topic, ranges, onRecords) => {
        for (const [partition, { from, until }] of ranges)
          await onRecords(
            partition,
            log.filter((r) => r.offset >= from && r.offset < until && delivered.includes(Number(r.offset))),
            { readUpTo: until, logStart: 0n },
          );
      },
      apply: redriveApply(job, { checkpoints, sink, clock }),
    };
    return { checkpoints, sink, summary: await redrivePending(job, deps) };
  }

  it('GIVEN a range of a marker and aborted records only THEN the redrive closes it, nothing applied and nothing lost', async () => {
    // GIVEN [5, 8): offset 5 a commit marker, 6 an aborted record, 7 the abort marker
    const { checkpoints, sink, summary } = await afterGap(8, []);
    // THEN the range is closed as redriven: unfixed, it stayed pending for ever (no record ever moved its cursor)
    expect(summary).toEqual({ attempted: 1, stillPending: [], redrivenRecords: 0, lost: 0n });
    expect([...checkpoints.skipped.values()][0]!.get(5n)).toMatchObject({
      status: 'redriven',
      redriven: 0,
      lost: 0n,
    });
    expect(sink.rows(SENT_RECEIVED)).toHaveLength(12);
  });

  it('GIVEN a range that starts with a marker and holds records after it THEN they are applied, and the marker is no loss', async () => {
    // GIVEN [5, 10): 5 a marker, 6 to 9 records the event source gave up on
    const { checkpoints, sink, summary } = await afterGap(10, [6, 7, 8, 9]);
    // THEN the four records are applied and nothing counts as lost (unfixed: offset 5 was reported lost)
    expect(summary).toEqual({ attempted: 1, stillPending: [], redrivenRecords: 4, lost: 0n });
    expect([...checkpoints.skipped.values()][0]!.get(5n)).toMatchObject({
      status: 'redriven',
      redriven: 4,
      lost: 0n,
    });
    expect(sink.rows(SENT_RECEIVED)).toHaveLength(14);
  });
});

describe('kafkaRangeReader', () => {
  /**
   * A Kafka whose consumer delivers `batches` of partition 0 one after another, as kafkajs's fetch loop does. A
   * batch given as `{ controlOnly: n }` is a fetch of control records only, up to offset n: kafkajs reports it with
   * its START_BATCH_PROCESS event alone, not to eachBatch.
   */
  function kafkaDelivering(
    batches: ReadonlyArray<readonly number[] | { readonly controlOnly: number }>,
    log: { low: string; high: string } = { low: '0', high: '100' },
  ): Kafka {
    const admin = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      deleteGroups: async () => undefined,
      setOffsets: async () => undefined,
      fetchTopicOffsets: async () => [{ partition: 0, ...log, offset: log.high }],
    };
    const listeners: Array<(event: { payload: Record<string, unknown> }) => void> = [];
    const consumer = {
      events: { START_BATCH_PROCESS: 'consumer.start_batch_process' },
      on: (_event: string, listener: (event: { payload: Record<string, unknown> }) => void) => {
        listeners.push(listener);
      },
      connect: async () => undefined,
      disconnect: async () => undefined,
      subscribe: async () => undefined,
      run: async ({ eachBatch }: { eachBatch: (payload: unknown) => Promise<void> }) => {
        for (const offsets of batches) {
          if ('controlOnly' in offsets) {
            for (const listener of listeners) {
              listener({
                payload: {
                  topic: 'test',
                  partition: 0,
                  highWatermark: log.high,
                  batchSize: 0,
                  lastOffset: String(offsets.controlOnly),
                },
              });
            }
            continue;
          }
          await eachBatch({
            batch: {
              partition: 0,
              highWatermark: log.high,
              lastOffset: () => String(offsets[offsets.length - 1]),
              messages: offsets.map((o) => ({
                offset: String(o),
                timestamp: String(T0),
                key: null,
                value: Buffer.from('x'),
                headers: {},
              })),
            },
          });
        }
      },
    };
    return { admin: () => admin, consumer: () => consumer } as unknown as Kafka;
  }

  it('GIVEN a range that ends in control records THEN a fetch of them alone reads it through, with its position', async () => {
    // GIVEN a range [3, 7) of a log whose records 3 to 5 are a transaction's, and 6 its marker, at the log's end
    const seen: Array<{ offsets: bigint[]; readUpTo: bigint; logStart: bigint }> = [];
    const read = kafkaRangeReader(
      kafkaDelivering([[3, 4, 5], { controlOnly: 6 }], { low: '2', high: '7' }),
      () => 'g',
    );
    // WHEN it is read
    await read('test', new Map([[0, { from: 3n, until: 7n }]]), async (_partition, records, position) => {
      seen.push({ offsets: records.map((r) => r.offset), ...position });
    });
    // THEN the read ends (unfixed, it waited for ever for a record at 7), having said how far each step got
    expect(seen).toEqual([
      { offsets: [3n, 4n, 5n], readUpTo: 6n, logStart: 2n },
      { offsets: [], readUpTo: 7n, logStart: 2n },
    ]);
  });

  it('GIVEN a run of records that fails THEN the fetches after it are not handed over, so no gap is decided', async () => {
    // GIVEN a range [0, 10) delivered in two fetches, and a handler that fails on the first
    const handed: bigint[][] = [];
    const read = kafkaRangeReader(
      kafkaDelivering([
        [0, 1, 2, 3, 4],
        [5, 6, 7, 8, 9],
      ]),
      () => 'group',
    );
    // WHEN the range is read
    const reading = read('test', new Map([[0, { from: 0n, until: 10n }]]), async (_partition, records) => {
      handed.push(records.map((r) => r.offset));
      throw new Error('store down');
    });
    // THEN the failure is the reader's, and only the first fetch was handed over
    await expect(reading).rejects.toThrow('store down');
    expect(handed).toEqual([[0n, 1n, 2n, 3n, 4n]]);
  });
});
