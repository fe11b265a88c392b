import { describe, expect, it } from 'vitest';
import type { Client, types } from 'cassandra-driver';
import { daysBetween, hoursBetween, isLiveBatch, parseBatchRow, UiData } from '../../../local/ui/data';

const row = (values: Record<string, unknown>) => values as unknown as types.Row;
const base = {
  batch_id: 'b-1',
  started_at: new Date('2026-05-21T12:00:00Z'),
  duration_ms: 230,
  records_in: 10,
  written: 7,
  duplicates: 1,
  dead_lettered: 2,
  late: 1,
  offset_ranges: '[{"topic":"test","partition":2,"fromOffset":38,"untilOffset":48}]',
  watermark_ms: 1_747_828_800_000n,
};

describe('parseBatchRow', () => {
  it('reads a ledger row written before the phase timings and per-partition outcomes: those are null', () => {
    const b = parseBatchRow('sent-received', row(base));
    expect(b).toMatchObject({
      batchId: 'b-1',
      durationMs: 230,
      offsetRanges: [{ topic: 'test', partition: 2, fromOffset: 38, untilOffset: 48 }],
      watermarkMs: 1_747_828_800_000,
      phases: null,
      skipped: null,
      lost: null,
      mode: null,
      partitions: null,
      recordTimestamps: null,
    });
  });

  it('reads the extended ledger: phases, counts, mode and the partitions JSON', () => {
    const partitions = [
      {
        topic: 'test',
        partition: 2,
        fromOffset: 38,
        untilOffset: 48,
        nextBefore: 38,
        nextAfter: 48,
        claimId: 'b-1',
        claimTime: '2026-05-21T12:00:00.000Z',
        resumedClaim: { id: 'b-0', time: '2026-05-21T11:59:55.000Z', until: 44 },
        applied: 9,
        written: 7,
        duplicates: 1,
        deadLettered: 2,
        late: 1,
        skipped: 0,
        filtered: 0,
        deferred: 0,
        lost: 0,
        watermarkMs: null,
      },
    ];
    const b = parseBatchRow(
      'sent-received',
      row({
        ...base,
        phase_read_claim_ms: 20,
        phase_transform_ms: 30,
        phase_effects_ms: 150,
        phase_commit_ms: 25,
        skipped: 0,
        filtered: 0,
        deferred: 0,
        lost: 0n,
        mode: 'replay',
        partitions: JSON.stringify(partitions),
        oldest_record_at: new Date('2026-05-21T11:59:55.000Z'),
        newest_record_at: new Date('2026-05-21T11:59:59.990Z'),
      }),
    );
    expect(b.recordTimestamps).toEqual({
      oldestMs: Date.parse('2026-05-21T11:59:55.000Z'),
      newestMs: Date.parse('2026-05-21T11:59:59.990Z'),
    });
    expect(b.phases).toEqual({ readClaimMs: 20, transformMs: 30, effectsMs: 150, commitMs: 25 });
    expect(b).toMatchObject({ skipped: 0, lost: 0, mode: 'replay' });
    expect(b.partitions).toEqual(partitions);
  });

  it('survives a malformed JSON column', () => {
    const b = parseBatchRow('j', row({ ...base, offset_ranges: '{oops', partitions: 'nope' }));
    expect(b.offsetRanges).toEqual([]);
    expect(b.partitions).toBeNull();
  });
});

describe('the partitions a time range touches', () => {
  it('lists ledger days newest first and metric hours oldest first', () => {
    expect(daysBetween(new Date('2026-05-20T23:59:00Z'), new Date('2026-05-22T00:01:00Z'))).toEqual([
      '2026-05-22',
      '2026-05-21',
      '2026-05-20',
    ]);
    expect(hoursBetween(new Date('2026-05-21T10:55:00Z'), new Date('2026-05-21T12:00:00Z'))).toEqual([
      '2026-05-21T10',
      '2026-05-21T11',
      '2026-05-21T12',
    ]);
  });
});

describe('UiData.latestBatch', () => {
  /** A client whose ledger holds `rows`, newest first, and that records each query's LIMIT. */
  function ledger(rows: Array<Record<string, unknown>>) {
    const limits: number[] = [];
    const client = {
      execute: async (_cql: string, params: unknown[]) => {
        const limit = params[2] as number;
        limits.push(limit);
        return { rows: rows.slice(0, limit).map(row) };
      },
    } as unknown as Client;
    return { data: new UiData(client, 'test_time'), limits };
  }
  const now = new Date('2026-05-21T12:00:10Z');

  it('GIVEN a live batch newest THEN reads that one row only', async () => {
    const { data, limits } = ledger([{ ...base, mode: 'live' }]);
    expect((await data.latestBatch('sent-received', now, isLiveBatch))?.batchId).toBe('b-1');
    expect(limits).toEqual([1]);
  });

  it('GIVEN a replay newest THEN reads further, to the newest live batch', async () => {
    const { data, limits } = ledger([
      { ...base, batch_id: 'replay', mode: 'replay' },
      { ...base, batch_id: 'live', mode: 'live' },
    ]);
    expect((await data.latestBatch('sent-received', now, isLiveBatch))?.batchId).toBe('live');
    expect(limits).toEqual([1, 100]);
  });
});

describe('UiData.batchPage', () => {
  /**
   * A client whose ledger holds `perDay` batches on each day (newest first), paging as Cassandra does: a page
   * that fills hands out a page state, whether or not a row follows.
   */
  function ledger(perDay: Record<string, number>) {
    const client = {
      execute: async (
        _cql: string,
        params: unknown[],
        options: { fetchSize: number; pageState?: string },
      ) => {
        const day = params[1] as string;
        const all = Array.from({ length: perDay[day] ?? 0 }, (_, i) =>
          row({ ...base, batch_id: `${day}/${i}` }),
        );
        const start = Number(options.pageState ?? 0);
        const rows = all.slice(start, start + options.fetchSize);
        return {
          rows,
          pageState: rows.length === options.fetchSize ? String(start + rows.length) : undefined,
        };
      },
    } as unknown as Client;
    return new UiData(client, 'test_time');
  }
  const now = new Date('2026-05-21T12:00:10Z');
  const ids = (page: { rows: Array<{ batchId: string }> }) => page.rows.map((r) => r.batchId);

  it('GIVEN exactly a page of batches THEN offers no older page, which would be empty', async () => {
    // GIVEN 3 batches today, none before
    const data = ledger({ '2026-05-21': 3 });

    // WHEN a page of 3
    const page = await data.batchPage('sent-received', 3, null, now);

    // THEN
    expect(ids(page)).toEqual(['2026-05-21/0', '2026-05-21/1', '2026-05-21/2']);
    expect(page.next).toBeNull();
  });

  it('GIVEN batches on an older day past an empty one THEN the next page reaches them, and ends there', async () => {
    // GIVEN 2 batches today, none yesterday, 1 the day before
    const data = ledger({ '2026-05-21': 2, '2026-05-19': 1 });

    // WHEN pages of 2
    const first = await data.batchPage('sent-received', 2, null, now);
    const second = await data.batchPage('sent-received', 2, first.next, now);

    // THEN
    expect(ids(first)).toEqual(['2026-05-21/0', '2026-05-21/1']);
    expect(first.next).not.toBeNull();
    expect(ids(second)).toEqual(['2026-05-19/0']);
    expect(second.next).toBeNull();
  });
});
