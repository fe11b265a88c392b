/**
 * page-views on MSK events, through the same `runMicroBatch` Lambda runs, against the in-memory model of the
 * stores: the count per page and event-time minute, the watermark, the dead letters and a redelivery.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, objectGetter } from '../../../config';
import pageViews, { handler, validatePageView } from '../../../lambda/jobs/page-views';
import { runMicroBatch } from '../../../lambda/runtime/batch';
import { jobConfigOf } from '../../../lambda/runtime/job';
import { DEAD_LETTERS, PAGE_VIEW_COUNTS, PAGE_VIEWS_TOPIC } from '../../../schema';
import { batchOf } from '../../support/events';
import { MemoryCheckpointStore, MemorySinkStore } from '../../support/memory-store';

const T0 = Date.UTC(2026, 4, 21, 2, 20, 0);

function jobWith(context: Record<string, unknown> = {}) {
  return pageViews.create(jobConfigOf(pageViews, loadConfig(objectGetter(context), [pageViews])));
}

/** One MSK event: a record per value on partition 0, from `first`. */
const event = (values: ReadonlyArray<string | null>, first = 0) =>
  batchOf(PAGE_VIEWS_TOPIC.name, values, { first });

const view = (page: string, ts: number | string) => JSON.stringify({ page, ts });

function stores() {
  return { checkpoints: new MemoryCheckpointStore(), sink: new MemorySinkStore(), log: () => undefined };
}

/** The count per (page, window start) over every partial row. */
function counts(sink: MemorySinkStore): Record<string, number> {
  const out: Record<string, number> = {};
  for (const row of sink.rows(PAGE_VIEW_COUNTS)) {
    const k = `${String(row['page'])} ${(row['window_start'] as Date).toISOString()}`;
    out[k] = (out[k] ?? 0) + Number(row['reading_count']);
  }
  return out;
}

describe('page-views', () => {
  it('is a job the registry can load, with a Lambda handler', () => {
    expect(pageViews.name).toBe('page-views');
    expect(pageViews.topics).toEqual([PAGE_VIEWS_TOPIC]);
    expect(typeof handler).toBe('function');
  });

  it('takes a page path and a time in epoch milliseconds or ISO-8601, naming the field that is wrong', () => {
    expect(validatePageView({ page: '/docs', ts: T0 })).toEqual({ page: '/docs', ts: T0 });
    expect(validatePageView({ page: '/', ts: '2026-05-21T02:20:00Z' })).toEqual({ page: '/', ts: T0 });
    expect(() => validatePageView({ page: 'docs', ts: T0 })).toThrow(
      /^\$\.page: expected a path starting with \//,
    );
    expect(() => validatePageView({ page: '/docs', ts: 'soon' })).toThrow(/^\$\.ts:/);
    expect(() => validatePageView(['/docs'])).toThrow(/^\$: expected an object/);
  });

  it('counts views per page and event-time minute, and dead-letters a bad record while the batch goes on', async () => {
    // GIVEN views of two pages across two minutes, and a record that is not a view
    const deps = stores();
    const batch = event([
      view('/docs', T0 + 1_000),
      view('/docs', T0 + 2_000),
      view('/', T0 + 3_000),
      '{"page": 42}',
      view('/docs', T0 + 61_000),
    ]);
    // WHEN one micro-batch runs
    const report = await runMicroBatch(jobWith(), batch, deps);
    // THEN each page has its count per window, and the bad record is a dead letter with its reason
    expect(report).toMatchObject({ recordsIn: 5, deadLettered: 1 });
    expect(counts(deps.sink)).toEqual({
      '/docs 2026-05-21T02:20:00.000Z': 2,
      '/ 2026-05-21T02:20:00.000Z': 1,
      '/docs 2026-05-21T02:21:00.000Z': 1,
    });
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([expect.objectContaining({ reason: 'schema' })]);
  });

  it('dead-letters a time that is not ISO-8601, which Date.parse would read as another year', async () => {
    // GIVEN a view whose ts is '5' (Date.parse: the year 2005) in a partition with no watermark yet
    const deps = stores();
    // WHEN it runs
    const report = await runMicroBatch(jobWith(), event([view('/a', '5'), view('/a', T0 + 1_000)]), deps);
    // THEN it is a dead letter naming the field, the value and what is expected, and no window of 2005 exists
    expect(report).toMatchObject({ recordsIn: 2, written: 1, deadLettered: 1 });
    expect(counts(deps.sink)).toEqual({ '/a 2026-05-21T02:20:00.000Z': 1 });
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([
      expect.objectContaining({
        reason: 'schema',
        detail: expect.stringMatching(/\$\.ts: expected epoch milliseconds .*ISO-8601.*, received "5"/),
      }),
    ]);
  });

  it('follows its windowSeconds option', async () => {
    const deps = stores();
    await runMicroBatch(
      jobWith({ 'jobs.page-views.windowSeconds': '300' }),
      event([view('/a', T0 + 1_000), view('/a', T0 + 200_000)]),
      deps,
    );
    expect(counts(deps.sink)).toEqual({ '/a 2026-05-21T02:20:00.000Z': 2 });
  });

  it('dead-letters a view later than the watermark allows, instead of changing a closed window', async () => {
    const deps = stores();
    const job = jobWith();
    // A view at minute 10 moves the watermark past minute 0 (30 s of allowed lateness by default).
    await runMicroBatch(job, event([view('/a', T0 + 600_000)]), deps);
    await runMicroBatch(job, event([view('/a', T0 + 1_000)], 1), deps);
    expect(counts(deps.sink)).toEqual({ '/a 2026-05-21T02:30:00.000Z': 1 });
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([expect.objectContaining({ reason: 'late' })]);
  });

  it('applies a redelivered batch once', async () => {
    const deps = stores();
    const job = jobWith();
    const batch = event([view('/a', T0 + 1_000), view('/a', T0 + 2_000)]);
    await runMicroBatch(job, batch, deps);
    const again = await runMicroBatch(job, batch, deps);
    expect(again).toMatchObject({ duplicates: 2, written: 0 });
    expect(counts(deps.sink)).toEqual({ '/a 2026-05-21T02:20:00.000Z': 2 });
  });

  it('sends demo views that its own decoder accepts, the front page most', () => {
    const now = new Date(T0);
    const samples = Array.from({ length: 60 }, (_, seq) => pageViews.sample!.make(seq, now));
    const pages = samples.map((s) => validatePageView(JSON.parse(String(s.value))).page);
    const byPage = new Map<string, number>();
    for (const p of pages) byPage.set(p, (byPage.get(p) ?? 0) + 1);
    const [mostViewed] = [...byPage].sort((a, b) => b[1] - a[1])[0]!;
    expect(mostViewed).toBe('/');
    expect(byPage.size).toBeGreaterThan(3);
  });
});
