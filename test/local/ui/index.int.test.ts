/**
 * The streaming UI in a real browser (Debian's Chromium, headless, driven by playwright-core) against the
 * real local Kafka and Cassandra, while a producer runs and a runner takes micro-batches: the charts plot what
 * the ledger holds, a new batch appears without a reload, a `<script>` payload stays text, and the console
 * stays clean. `MICROBATCH_UI_SCREENSHOT=1` also writes the job page to docs/ui-job-page.png.
 */
import { afterAll, expect, it, onTestFinished } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { EventSourceRunner } from '../../../local/runner';
import { produce } from '../../../local/producer';
import { startUi } from '../../../local/ui';
import type { UiJob } from '../../../local/ui/jobs';
import { UiData } from '../../../local/ui/data';
import { CassandraCheckpointStore, CassandraSinkStore } from '../../../lambda/runtime/cassandra-store';
import { runMicroBatch } from '../../../lambda/runtime/batch';
import { parseMskEvent } from '../../../lambda/runtime/event';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
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

it('shows the ledger in live charts and tables, and dead letters as text, in a real browser', async () => {
  const { client, keyspace } = await freshKeyspace();
  const topic = await freshTopic(3);
  const group = uniqueName('it-group-');
  const job = createSentReceivedJob({ timeFormat: 'iso', failOnDataLoss: false }, { topics: [topic] });
  const checkpoints = new CassandraCheckpointStore(client, keyspace);
  const sink = new CassandraSinkStore(client, keyspace);
  const onFailureDir = mkdtempSync(join(tmpdir(), 'on-failure-'));
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
    mode: 'tutorial',
    topic,
    rate: 20,
    signal: abort.signal,
  });
  onTestFinished(async () => {
    abort.abort();
    await producing;
  });
  await sendValues(topic, [{ value: XSS, partition: 0 }]);

  const uiJob: UiJob = {
    name: job.name,
    kind: 'transform',
    doc: 'the tutorial job',
    topics: [topic],
    consumerGroupId: group,
    batchingWindowSeconds: 1,
    partitionsPerTopic: { [topic]: 3 },
  };
  const ui = await startUi({
    client,
    keyspace,
    kafka: kafka(),
    jobs: () => [uiJob],
    port: 0,
    refreshMs: 1000,
    backfill: false,
  });
  onTestFinished(() => ui.close());
  const data = new UiData(client, keyspace);
  await waitFor('three batches in the ledger', async () => {
    const { rows } = await data.batchesBetween(
      job.name,
      new Date(Date.now() - 60_000),
      new Date(Date.now() + 1000),
      10,
    );
    return rows.length >= 3 ? rows : undefined;
  });

  const { page, errors } = await openBrowser();
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });

  // The overview: the job, running, with its numbers.
  await page.goto(`${ui.url}/`);
  const jobRow = page.locator('table.jobs tbody tr', { hasText: job.name });
  await expect.poll(() => jobRow.locator('.badge').textContent(), { timeout: 20_000 }).toBe('running');
  expect(await page.locator('table.jobs thead th').allTextContents()).toContain('Lag (records)');

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
    // The duration chart is stacked: its top band ends at the batch's whole duration.
    expect(plotted.duration[1]![i]).toBe(b!.durationMs);
  });
  const expected = ledger.rows
    .filter(
      (b) =>
        b.startedAt.getTime() >= Date.parse(plotted.to) - 5 * 60_000 &&
        b.startedAt.getTime() <= Date.parse(plotted.to),
    )
    .map((b) => b.batchId);
  expect(new Set(plotted.batchIds)).toEqual(new Set(expected));

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

  if (process.env.MICROBATCH_UI_SCREENSHOT === '1') {
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(__dirname, '../../../docs/ui-job-page.png'), fullPage: true });
  }

  // The batch page: Spark's OffsetRange lines for the batch in the table.
  await page.locator('table.batches tbody tr th a').first().click();
  await expect
    .poll(() => page.locator('pre.spark').textContent(), { timeout: 10_000 })
    .toContain(`OffsetRange(topic: '${topic}'`);

  // The dead letter: its payload is text on the page, and nothing of it ran.
  await waitFor('the <script> dead letter', async () => {
    const rows = await data.deadLettersBefore(job.name, topic, 0, null, 10);
    return rows.some((d) => d.reason === 'schema') ? rows : undefined;
  });
  await page.goto(`${ui.url}/dead-letters?job=${job.name}&reason=schema`);
  const payload = page.locator('table.dead-letters pre.payload-text', { hasText: '<script>' });
  await expect.poll(() => payload.first().textContent(), { timeout: 20_000 }).toBe(XSS);
  expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
  expect(await page.locator('main script, main img').count()).toBe(0);
  expect(await page.locator('table.dead-letters td code.cmd').first().textContent()).toMatch(
    /^microbatch replay sent-received --from /,
  );

  expect(errors).toEqual([]);
});
