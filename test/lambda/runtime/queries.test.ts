/** The pure parts of the read side (lambda/runtime/queries.ts); the queries themselves run on real Cassandra. */
import { describe, expect, it } from 'vitest';
import { newestDeadLetters, recordTimestampsFrom, type DeadLetterRow } from '../../../lambda/runtime/queries';

const letter = (partition: number, offset: number, at: string | null): DeadLetterRow => ({
  topic: 'test',
  partition,
  offset: BigInt(offset),
  reason: 'schema',
  detail: 'd',
  valueBase64: null,
  recordTimestamp: at === null ? null : new Date(at),
});

describe('newestDeadLetters', () => {
  it("GIVEN each partition's newest THEN the newest of all by record time, at most the limit", () => {
    // GIVEN what `--limit 3` reads from two partitions: each partition's 3 newest, newest first
    const p0 = [
      letter(0, 9, '2026-11-30T10:00:05Z'),
      letter(0, 8, '2026-11-30T10:00:01Z'),
      letter(0, 7, null),
    ];
    const p1 = [letter(1, 4, '2026-11-30T10:00:04Z'), letter(1, 3, '2026-11-30T10:00:03Z')];

    // WHEN
    const newest = newestDeadLetters([...p0, ...p1], 3);

    // THEN
    expect(newest.map((d) => `${d.partition}@${d.offset}`)).toEqual(['0@9', '1@4', '1@3']);
    expect(newestDeadLetters([...p0, ...p1], 10).map((d) => `${d.partition}@${d.offset}`)).toEqual([
      '0@9',
      '1@4',
      '1@3',
      '0@8',
      '0@7',
    ]);
  });
});

describe('recordTimestampsFrom', () => {
  it('GIVEN both timestamps THEN epoch ms; GIVEN a ledger row from before the columns THEN null', () => {
    expect(recordTimestampsFrom(new Date(1000), new Date(2000))).toEqual({ oldestMs: 1000, newestMs: 2000 });
    expect(recordTimestampsFrom(undefined, undefined)).toBeNull();
    expect(recordTimestampsFrom(null, new Date(2000))).toBeNull();
  });
});
