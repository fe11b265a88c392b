import { describe, expect, it } from 'vitest';
import { EndOffsetHistory, readGroupLag } from '../../../local/ui/lag';

describe('EndOffsetHistory.secondsBehind', () => {
  it('is 0 when the group is at the end', () => {
    const h = new EndOffsetHistory();
    h.record('t', 0, 10, 1000);
    expect(h.secondsBehind('t', 0, 10, 5000)).toBe(0);
  });

  it('interpolates when the waiting record arrived between two samples', () => {
    const h = new EndOffsetHistory();
    h.record('t', 0, 10, 0);
    h.record('t', 0, 10, 5000);
    h.record('t', 0, 20, 10_000);
    // Offset 10 is the first of the ten records appended between 5 s and 10 s: the middle of its share, 5.25 s.
    expect(h.secondsBehind('t', 0, 10, 20_000)).toBeCloseTo(14.75, 6);
    // Offset 19 is the last of them: 9.75 s.
    expect(h.secondsBehind('t', 0, 19, 20_000)).toBeCloseTo(10.25, 6);
  });

  it('is a lower bound, the history’s age, when the record is older than the history', () => {
    const h = new EndOffsetHistory();
    h.record('t', 0, 50, 3000);
    h.record('t', 0, 60, 8000);
    expect(h.secondsBehind('t', 0, 40, 10_000)).toBe(7);
    expect(h.behind('t', 0, 40, 10_000)).toEqual({ seconds: 7, atLeast: true });
    // Within the history, an estimate proper.
    expect(h.behind('t', 0, 55, 10_000)).toEqual({ seconds: 4.25, atLeast: false });
  });

  it('GIVEN one record appended since the last sample, at the sample just taken THEN behind by half the interval, not 0', () => {
    const h = new EndOffsetHistory();
    h.record('t', 0, 10, 0);
    h.record('t', 0, 11, 5000);
    expect(h.behind('t', 0, 10, 5000)).toEqual({ seconds: 2.5, atLeast: false });
  });

  it('GIVEN only the sample just taken, with records waiting THEN unknown, not 0 s behind', () => {
    const h = new EndOffsetHistory();
    h.record('t', 0, 50, 3000);
    expect(h.behind('t', 0, 47, 3000)).toBeNull();
    expect(h.behind('t', 0, 47, 4000)).toEqual({ seconds: 1, atLeast: true });
  });

  it('keeps only the ends of a flat stretch, and knows nothing of unseen partitions', () => {
    const h = new EndOffsetHistory();
    for (let t = 0; t <= 20_000; t += 5000) h.record('t', 1, 7, t);
    h.record('t', 1, 9, 25_000);
    // The record at 7 arrived after the flat stretch ended at 20 s: the first of two, at 21.25 s.
    expect(h.secondsBehind('t', 1, 7, 30_000)).toBeCloseTo(8.75, 6);
    expect(h.secondsBehind('t', 2, 0, 30_000)).toBeNull();
  });
});

describe('readGroupLag', () => {
  /** Kafka's answers for one group on topic t of three partitions. */
  const admin = (ends: number[], committed: number[]) => ({
    fetchTopicOffsets: async () =>
      ends.map((end, partition) => ({ partition, high: String(end), low: '0', offset: String(end) })),
    fetchOffsets: async () => [
      {
        topic: 't',
        partitions: committed.map((offset, partition) => ({ partition, offset: String(offset) })),
      },
    ],
    describeGroups: async () => ({ groups: [{ groupId: 'g', state: 'Stable', members: [{}] }] }),
  });

  it('GIVEN a partition with records of unknown age beside caught-up ones THEN the job’s time behind is unknown, not 0', async () => {
    // GIVEN the first sample: partition 1 has 3 records waiting, the others none
    const lag = await readGroupLag(
      admin([10, 13, 10], [10, 10, 10]) as never,
      'g',
      ['t'],
      new EndOffsetHistory(),
      1000,
    );

    // THEN
    expect(lag.partitions.map((p) => p.seconds)).toEqual([0, null, 0]);
    expect(lag).toMatchObject({ records: 3, seconds: null, secondsAtLeast: false });
  });

  it('GIVEN a partition of unknown age beside one known to be behind THEN at least the known time', async () => {
    // GIVEN partition 0 watched since 1 s, when its end was 10; partitions 1 and 2 first seen now, at 4 s
    const history = new EndOffsetHistory();
    history.record('t', 0, 10, 1000);

    // WHEN partitions 0 and 1 have records waiting
    const lag = await readGroupLag(admin([12, 13, 10], [10, 10, 10]) as never, 'g', ['t'], history, 4000);

    // THEN partition 0's record is about 2.25 s behind, partition 1's unknown: the job is at least 2.25 s behind
    expect(lag.partitions.map((p) => p.seconds)).toEqual([2.25, null, 0]);
    expect(lag).toMatchObject({ records: 5, seconds: 2.25, secondsAtLeast: true });
  });
});
