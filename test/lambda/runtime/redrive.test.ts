import { describe, expect, it } from 'vitest';
import { processPartition } from '../../../lambda/runtime/checkpoint';
import { runMicroBatch } from '../../../lambda/runtime/batch';
import { parseMskEvent, toMskEvent, type KafkaRecord } from '../../../lambda/runtime/event';
import { redrivePending, type RedriveDeps } from '../../../lambda/runtime/redrive';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { formatTime } from '../../../lambda/jobs/shared/time-format';
import { SENT_RECEIVED } from '../../../schema';
import { MemoryCheckpointStore, MemorySinkStore } from '../../support/memory-store';

const T0 = Date.UTC(2026, 4, 21, 2, 20, 0);
const job = createSentReceivedJob({ timeFormat: 'tutorial', failOnDataLoss: false });
const log: KafkaRecord[] = Array.from({ length: 15 }, (_, o) => ({
  topic: 'test',
  partition: 0,
  offset: BigInt(o),
  timestamp: T0 + o * 1000,
  timestampType: 'CREATE_TIME',
  key: null,
  value: Buffer.from(formatTime(new Date(T0 + o * 1000), 'tutorial')),
  headers: [],
}));

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
          );
      },
      apply: (records, contiguousFrom, onCommit) =>
        runMicroBatch(
          job,
          parseMskEvent(toMskEvent(records, { eventSourceArn: 'a', bootstrapServers: 'b' })),
          {
            checkpoints,
            sink,
            clock,
            log: () => undefined,
            mode: 'redrive',
            contiguousFrom: new Map([['test-0', contiguousFrom]]),
            onCommit,
          },
        ),
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
