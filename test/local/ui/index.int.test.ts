/**
 * The streaming UI in a real browser (Debian's Chromium, headless, driven by playwright-core) against the
 * real local Kafka and Cassandra, while a producer runs and a runner takes micro-batches: the charts plot what
 * the ledger holds, a new batch appears without a reload, a page of batches or dead letters stays through a
 * refresh of page 1 that answers late, a `<script>` payload stays text, and the console stays clean.
 * `MICROBATCH_UI_SCREENSHOT=1` also writes the job page to docs/ui-job-page.png.
 */
import { afterAll, expect, it, onTestFinished } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page, type Route } from 'playwright-core';
import { EventSourceRunner } from '../../../local/runner';
import { produce } from '../../../local/producer';
import { startUi } from '../../../local/ui';
import type { UiJob } from '../../../local/ui/jobs';
import { UiData } from '../../../local/ui/data';
import { CassandraCheckpointStore, CassandraSinkStore } from '../../../lambda/runtime/cassandra-store';
import { runMicroBatch } from '../../../lambda/runtime/batch';
import { DEAD_LETTER_REASONS } from '../../../lambda/runtime/errors';
import { parseMskEvent } from '../../../lambda/runtime/event';
import sentReceived, { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import sensorStats, { createSensorStatsJob } from '../../../lambda/jobs/sensor-stats';
import type { Job, SampleData } from '../../../lambda/runtime/job';
import type { Client } from 'cassandra-driver';
import {
  closeCassandra,
  endpoints,
  freshKeyspace,
  freshTopic,
  kafka,
  sendValues,
  source,
  uniqueName,
  waitFor,
} from '../../support/integration';

afterAll(closeCassandra);

const CHROMIUM = process.env.MICROBATCH_CHROMIUM ?? '/usr/bin/chromium';
const XSS = `<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">`;

async function openBrowser(): Promise<{ page: Page; errors: string[] }> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `No Chromium at ${CHROMIUM}: run 'bash scripts/ensure-test-tools.sh' (installs Debian's chromium) or set MICROBATCH_CHROMIUM.`,
    );
  const profile = mkdtempSync(join(tmpdir(), 'microbatch-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  onTestFinished(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return { page, errors };
}

/** A job on a fresh topic with its own runner and producer, as `npm run local` runs it. */
async function runJob(
  store: { client: Client; keyspace: string },
  job: Job,
  kind: UiJob['kind'],
  sample: SampleData,
): Promise<UiJob> {
  const topic = job.topics[0]!;
  const group = uniqueName('it-group-');
  const checkpoints = new CassandraCheckpointStore(store.client, store.keyspace);
  const sink = new CassandraSinkStore(store.client, store.keyspace);
  const onFailureDir = mkdtempSync(join(tmpdir(), 'on-failure-'));
  onTestFinished(() => rmSync(onFailureDir, { recursive: true, force: true }));
  const runner = new EventSourceRunner({
    jobName: job.name,
    topics: [topic],
    source: source({ consumerGroupId: group, maxBatchingWindowSeconds: 1 }),
    brokers: endpoints.kafkaBrokers,
    onFailureDir,
    log: () => undefined,
    invoke: async (event) =>
      runMicroBatch(job, parseMskEvent(event), { checkpoints, sink, log: () => undefined }),
  });
  await runner.start();
  onTestFinished(() => runner.stop());
  const abort = new AbortController();
  const producing = produce({
    brokers: endpoints.kafkaBrokers,
    mode: 'sample',
    sample,
    topic,
    rate: 20,
    signal: abort.signal,
  });
  onTestFinished(async () => {
    abort.abort();
    await producing;
  });
  return {
    name: job.name,
    kind,
    doc: `${job.name} on ${topic}`,
    topics: [topic],
    consumerGroupId: group,
    batchingWindowSeconds: 1,
    partitionsPerTopic: { [topic]: 3 },
  };
}

/**
 * Clicks "Older →" while the page's refresh of page 1 is on its way, then lets that refresh answer: the page
 * must go on showing page 2, under page 2's caption. `isFirstPage` picks the API request of page 1.
 */
async function olderWhileRefreshing(
  page: Page,
  isFirstPage: (url: URL) => boolean,
  table: string,
  rowText: () => Promise<string[]>,
) {
  const caption = page.locator(`${table} caption`);
  const older = page.getByRole('button', { name: 'Older →' });
  await expect.poll(() => older.isEnabled(), { timeout: 20_000 }).toBe(true);
  const refreshes = () =>
    page.evaluate(
      () => (globalThis as unknown as { microbatchUi: { refreshes: number } }).microbatchUi.refreshes,
    );
  // GIVEN a refresh of page 1 held on its way, as a slow store holds it
  let held: Route | undefined;
  const holding = new Promise<void>((resolve) => {
    // One held: the page loads one at a time, and an unroute would let the held one go on by itself.
    void page.route(isFirstPage, async (route) => {
      if (held) return route.continue();
      held = route;
      resolve();
    });
  });
  await holding;

  // WHEN "Older" is clicked meanwhile
  await older.click();
  await expect.poll(() => caption.textContent(), { timeout: 10_000 }).toContain('(page 2)');
  const second = await rowText();
  expect(second.length).toBeGreaterThan(0);

  // WHEN the refresh of page 1 answers after it
  const before = await refreshes();
  const answered = page.waitForResponse((res) => isFirstPage(new URL(res.url())));
  await held!.continue();
  await answered;
  await page.unroute(isFirstPage);
  await expect.poll(refreshes, { timeout: 10_000 }).toBeGreaterThan(before);

  // THEN page 2 stays, under its caption: the late answer of page 1 was dropped
  expect(await caption.textContent()).toContain('(page 2)');
  expect(await rowText()).toEqual(second);
}

it('shows the ledger in live charts and tables, and dead letters as text, in a real browser', async () => {
  const store = await freshKeyspace();
  const { client, keyspace } = store;
  const testTopic = await freshTopic(3);
  const sensorTopic = await freshTopic(3);
  const job = createSentReceivedJob({ timeFormat: 'iso', failOnDataLoss: false }, { topics: [testTopic] });
  const windowJob = createSensorStatsJob(
    { windowSeconds: 10, slideSeconds: 10, allowedLatenessSeconds: 2, failOnDataLoss: false },
    { topics: [sensorTopic] },
  );
  const jobs = await Promise.all([
    runJob(store, job, 'transform', sentReceived.sample!),
    runJob(store, windowJob, 'window', sensorStats.sample!),
  ]);
  const topic = testTopic;
  // Two, so that the dead letters page has a second page at one a page.
  await sendValues(topic, [
    { value: XSS, partition: 0 },
    { value: XSS, partition: 1 },
  ]);

  // A range the event source skipped, as the runtime registers it: the overview counts it as pending.
  await client.execute(
    `INSERT INTO ${keyspace}.skipped_ranges (job, topic, kafka_partition, from_offset, until_offset, reason, status, detected_at) ` +
      "VALUES (?, ?, 1, 1000, 1025, 'batch-failed', 'pending', toTimestamp(now()))",
    [job.name, topic],
    { prepare: true },
  );

  const ui = await startUi({
    client,
    keyspace,
    kafka: kafka(),
    jobs: () => jobs,
    port: 0,
    refreshMs: 1000,
    backfill: false,
  });
  onTestFinished(() => ui.close());
  const data = new UiData(client, keyspace);
  // Three batches that ended more than 3 s ago: the chart check below allows a ledger write 3 s to land, so
  // batches that ended since then do not count, and on a fast machine the first three end within a second.
  for (const name of [job.name, windowJob.name])
    await waitFor(`three batches of ${name} in the ledger, ended 3 s ago`, async () => {
      const { rows } = await data.batchesBetween(
        name,
        new Date(Date.now() - 60_000),
        // Three pollers with 1-s windows close a batch about every 300 ms: the newest 10 span 3 s, and would
        // rarely hold three that ended 3 s ago.
        new Date(Date.now() + 1000),
        300,
      );
      const settled = rows.filter((b) => b.startedAt.getTime() + b.durationMs <= Date.now() - 3000);
      return settled.length >= 3 ? rows : undefined;
    });

  const { page, errors } = await openBrowser();
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });

  // The overview: the job, running, with its numbers.
  await page.goto(`${ui.url}/`);
  await expect
    .poll(() => page.locator('table.jobs tbody th[scope=row]').allTextContents(), { timeout: 20_000 })
    .toEqual([job.name, windowJob.name]);
  const jobRow = page.locator('table.jobs tbody tr', { hasText: job.name });
  await expect.poll(() => jobRow.locator('.badge').textContent(), { timeout: 20_000 }).toBe('running');
  expect(await page.locator('table.jobs thead th').allTextContents()).toContain('Lag (records)');
  expect(await jobRow.locator('td').last().textContent()).toBe(
    `1 pending (25 records) microbatch redrive ${job.name}`,
  );

  // The job page: every batch of the chart is a ledger batch, plotted at its start with its rate and duration.
  await page.goto(`${ui.url}/jobs/${job.name}?range=5m`);
  await page.waitForFunction(() => {
    const charts = (
      globalThis as unknown as { microbatchUi: { charts: Record<string, { data: number[][] }> } }
    ).microbatchUi.charts;
    return (charts.throughput?.data[0]?.length ?? 0) >= 3 && (charts.lagRecords?.data[0]?.length ?? 0) >= 1;
  });
  const plotted = await page.evaluate(() => {
    const m = (
      globalThis as unknown as {
        microbatchUi: {
          charts: Record<string, { data: number[][] }>;
          series: { batchIds: string[]; to: string };
        };
      }
    ).microbatchUi;
    return {
      batchIds: m.series.batchIds,
      to: m.series.to,
      throughput: m.charts.throughput!.data,
      duration: m.charts.duration!.data,
      latency: m.charts.latency!.data as Array<Array<number | null>>,
    };
  });
  const ledger = await data.batchesBetween(
    job.name,
    new Date(Date.now() - 6 * 60_000),
    new Date(Date.now() + 1000),
    1000,
  );
  const byId = new Map(ledger.rows.map((b) => [b.batchId, b]));
  expect(plotted.batchIds.length).toBeGreaterThanOrEqual(3);
  plotted.batchIds.forEach((id, i) => {
    const b = byId.get(id);
    expect(b, `batch ${id} of the chart is in the ledger`).toBeDefined();
    expect(plotted.throughput[0]![i]).toBe(b!.startedAt.getTime() / 1000);
    expect(plotted.throughput[2]![i]).toBeCloseTo((b!.recordsIn * 1000) / b!.durationMs, 6);
    // The duration chart is stacked: its top band ends at the batch's whole duration (or at the phases' sum,
    // when the rounded phases of the last partition add up to a little more).
    const p = b!.phases;
    const phases = p ? p.readClaimMs + p.transformMs + p.effectsMs + p.commitMs : 0;
    expect(plotted.duration[1]![i]).toBe(Math.max(b!.durationMs, phases));
    // The latency chart: from the real Kafka timestamps of the batch's oldest and newest record to its end.
    const end = b!.startedAt.getTime() + b!.durationMs;
    expect(b!.recordTimestamps, `batch ${id} kept its records' timestamps`).not.toBeNull();
    expect(plotted.latency[1]![i]).toBe(end - b!.recordTimestamps!.oldestMs);
    expect(plotted.latency[2]![i]).toBe(end - b!.recordTimestamps!.newestMs);
    expect(plotted.latency[1]![i]!).toBeGreaterThanOrEqual(plotted.latency[2]![i]!);
  });
  // Every batch that started in the chart's range and was recorded before the chart was read is plotted (a
  // batch's ledger row is written after it ends: allow 3 s for the write on a loaded machine).
  const to = Date.parse(plotted.to);
  const expected = ledger.rows
    .filter(
      (b) => b.startedAt.getTime() >= to - 5 * 60_000 && b.startedAt.getTime() + b.durationMs <= to - 3000,
    )
    .map((b) => b.batchId);
  expect(expected.length).toBeGreaterThanOrEqual(2);
  expect(plotted.batchIds).toEqual(expect.arrayContaining(expected));
  // The lag chart's last series is the consumer group's members: the runner is one, so the job is not stopped.
  const consumers = await page.evaluate(() => {
    const data = (
      globalThis as unknown as {
        microbatchUi: { charts: Record<string, { data: Array<Array<number | null>> }> };
      }
    ).microbatchUi.charts.lagRecords!.data;
    return data[data.length - 1]!.filter((v) => v !== null);
  });
  expect(consumers.length).toBeGreaterThan(0);
  expect(consumers[consumers.length - 1]).toBe(1);
  // Spark's active batches: the open claims, read from the checkpoints on every refresh.
  expect(await page.locator('.active-batches table thead th').allTextContents()).toEqual([
    'Partition',
    'Claim',
    'Offsets',
    'Records',
    'Claimed at',
    'Open for',
  ]);

  // A drag zooms a chart into a time range, and the zoom outlasts the refreshes that rebuild the chart, until a
  // double click.
  type ZoomWindow = {
    microbatchUi: {
      charts: Record<string, { scales: { x: { min: number; max: number } }; stale?: boolean }>;
      zoom: Record<string, { min: number; max: number } | undefined>;
    };
  };
  const xScale = () =>
    page.evaluate(() => {
      const m = (globalThis as unknown as ZoomWindow).microbatchUi;
      const u = m.charts.throughput!;
      u.stale = true;
      return { min: u.scales.x.min, max: u.scales.x.max, zoom: m.zoom.throughput ?? null };
    });
  const rebuilt = () =>
    page.waitForFunction(
      () => !(globalThis as unknown as ZoomWindow).microbatchUi.charts.throughput!.stale,
      undefined,
      { timeout: 20_000 },
    );
  const unzoomed = await xScale();
  const over = page.locator('#chart-throughput .u-over');
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  const zoomed = await xScale();
  expect(zoomed.zoom).toEqual({ min: zoomed.min, max: zoomed.max });
  expect(zoomed.max - zoomed.min).toBeLessThan((unzoomed.max - unzoomed.min) * 0.5);
  await rebuilt();
  const refreshed = await xScale();
  expect({ min: refreshed.min, max: refreshed.max }).toEqual({ min: zoomed.min, max: zoomed.max });
  await over.dblclick();
  expect((await xScale()).zoom).toBeNull();
  await rebuilt();
  expect((await xScale()).max - zoomed.min).toBeGreaterThan(zoomed.max - zoomed.min);

  // A new batch appears in the table without a reload.
  const firstRow = () => page.locator('table.batches tbody tr').first().getAttribute('data-batch-id');
  const before = await firstRow();
  const navigationsBefore = navigations;
  await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
  await expect.poll(firstRow, { timeout: 20_000 }).not.toBe(before);
  expect(navigations).toBe(navigationsBefore);
  expect(
    await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument),
  ).toBe(true);

  // The last hour: one point per whole minute, from the sampler's rollups of the same ledger (the first one
  // once the first minute with a batch has ended).
  await page.getByLabel('last hour').check();
  await page.waitForFunction(
    () => {
      const m = (
        globalThis as unknown as {
          microbatchUi: { series: { resolution: string; throughput: { t: number[] } } };
        }
      ).microbatchUi;
      return m.series.resolution === 'minute' && m.series.throughput.t.length >= 1;
    },
    undefined,
    { timeout: 75_000 },
  );
  const hour = await page.evaluate(
    () =>
      (
        globalThis as unknown as {
          microbatchUi: { series: { throughput: { t: number[]; inputRate: number[] } } };
        }
      ).microbatchUi.series.throughput,
  );
  const rolledUp = hour.inputRate.reduce((n, r) => n + r * 60, 0);
  const inLedger = (
    await data.batchesBetween(job.name, new Date(hour.t[0]! * 1000), new Date(Date.now() + 1000), 1000)
  ).rows.reduce((n, b) => n + b.recordsIn, 0);
  expect(rolledUp).toBeGreaterThan(0);
  expect(rolledUp).toBeLessThanOrEqual(inLedger);
  expect(page.url()).toContain('range=1h');
  // The same rollups give the page's last-hour totals, as Spark's streaming page opens with its own.
  const totals = page.locator('dt', { hasText: 'Batches (1 h)' }).locator('xpath=following-sibling::dd');
  await expect
    .poll(() => totals.textContent(), { timeout: 20_000 })
    .toMatch(/^[1-9][\d,]* batches, [\d,]+ records in, /);
  expect(
    await page
      .locator('dt', { hasText: 'Processing time (1 h)' })
      .locator('xpath=following-sibling::dd')
      .textContent(),
  ).toMatch(/^mean [\d,]+ ms, max [\d,]+ ms$/);

  // The window job's page: the watermark of each batch, and its gap to processing time.
  await page.goto(`${ui.url}/jobs/${windowJob.name}`);
  await page.waitForFunction(
    () =>
      ((globalThis as unknown as { microbatchUi: { charts: Record<string, { data: number[][] }> } })
        .microbatchUi.charts.watermark?.data[0]?.length ?? 0) >= 3,
  );
  const watermark = await page.evaluate(() => {
    const m = (
      globalThis as unknown as {
        microbatchUi: { series: { batchIds: string[]; watermark: { watermarkMs: Array<number | null> } } };
      }
    ).microbatchUi;
    return { batchIds: m.series.batchIds, watermarkMs: m.series.watermark.watermarkMs };
  });
  const windowLedger = new Map(
    (
      await data.batchesBetween(
        windowJob.name,
        new Date(Date.now() - 6 * 60_000),
        new Date(Date.now() + 1000),
        1000,
      )
    ).rows.map((b) => [b.batchId, b]),
  );
  watermark.batchIds.forEach((id, i) =>
    expect(watermark.watermarkMs[i]).toBe(windowLedger.get(id)!.watermarkMs),
  );
  expect(watermark.watermarkMs.some((w) => w !== null)).toBe(true);
  if (process.env.MICROBATCH_UI_SCREENSHOT === '1') {
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(__dirname, '../../../docs/ui-job-page.png'), fullPage: true });
  }
  // Paging: a refresh of page 1 that answers after "Older" was clicked does not overwrite page 2.
  await page.goto(`${ui.url}/jobs/${job.name}`);
  await olderWhileRefreshing(
    page,
    (url) => url.pathname === `/api/jobs/${job.name}/batches` && !url.searchParams.has('cursor'),
    'table.batches',
    async () =>
      (await page
        .locator('table.batches tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-batch-id') ?? ''))) as string[],
  );
  await page.goto(`${ui.url}/jobs/${job.name}`);

  // The batch page: Spark's OffsetRange lines for the batch in the table.
  await page.locator('table.batches tbody tr th a').first().click();
  await expect
    .poll(() => page.locator('pre.spark').textContent(), { timeout: 10_000 })
    .toContain(`OffsetRange(topic: '${topic}'`);
  // Its "Checkpoints now" is refreshed as the checkpoints move on (the page polls at refreshMs, 1 s here).
  const refreshes = () =>
    page.evaluate(
      () => (globalThis as unknown as { microbatchUi: { refreshes: number } }).microbatchUi.refreshes,
    );
  const loaded = await refreshes();
  await expect.poll(refreshes, { timeout: 10_000 }).toBeGreaterThanOrEqual(loaded + 2);
  expect(await page.locator('.checkpoints-now table tbody tr').count()).toBeGreaterThan(0);

  // The dead letter: its payload is text on the page, and nothing of it ran.
  await waitFor('the <script> dead letter', async () => {
    const rows = await data.deadLettersBefore(job.name, topic, 0, null, 10);
    return rows.some((d) => d.reason === 'schema') ? rows : undefined;
  });
  await page.goto(`${ui.url}/dead-letters?job=${job.name}&reason=schema`);
  const payload = page.locator('table.dead-letters pre.payload-text', { hasText: '<script>' });
  await expect.poll(() => payload.first().textContent(), { timeout: 20_000 }).toBe(XSS);
  // The reason is a choice among those a dead letter can have, the one in the URL chosen.
  expect(await page.locator('select[name=reason]').inputValue()).toBe('schema');
  expect(await page.locator('select[name=reason] option').allTextContents()).toEqual([
    'any reason',
    ...DEAD_LETTER_REASONS,
  ]);
  expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
  expect(await page.locator('main script, main img').count()).toBe(0);
  expect(await page.locator('table.dead-letters tbody tr td:last-child').first().textContent()).toMatch(
    new RegExp(
      `^Stays dead-lettered: the checkpoint has passed ${topic}-\\d+ @ \\d+, so neither replay nor redrive applies it again\\.`,
    ),
  );

  // Paging the dead letters, one a page: a late refresh of page 1 does not overwrite page 2 either.
  await page.goto(`${ui.url}/dead-letters?job=${job.name}&limit=1`);
  await olderWhileRefreshing(
    page,
    (url) => url.pathname === '/api/dead-letters' && !url.searchParams.has('cursor'),
    'table.dead-letters',
    () => page.locator('table.dead-letters tbody tr').allTextContents(),
  );

  expect(errors).toEqual([]);

  // A batch the ledger does not have: a 404 page that says so and links back to its job (last: the browser logs
  // the 404 itself as a console error).
  const missingBatch = await page.goto(
    `${ui.url}/jobs/${job.name}/batches/2026-01-01T00:00:00Z/no-such-batch`,
  );
  expect(missingBatch?.status()).toBe(404);
  await expect
    .poll(() => page.locator('main p.error').textContent(), { timeout: 10_000 })
    .toContain(`No batch no-such-batch of ${job.name}`);
  expect(await page.locator('main p.error a').getAttribute('href')).toBe(`/jobs/${job.name}`);
}, 240_000);
