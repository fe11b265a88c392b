/**
 * `npm run bench -- --smoke` against the real local services, so that the benchmark never rots: every
 * section is measured, the numbers are sane, the JSON and the chart are written, and the run leaves nothing
 * behind in Kafka or Cassandra. The numbers themselves are not asserted: a benchmark is not a timed test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../bench/report';
import { ownSemiSpaceMb } from '../../bench/lambda-sized';
import { cassandra, closeCassandra, kafka } from '../support/integration';

const ROOT = join(__dirname, '..', '..');
const HANDLERS = [
  'page-views',
  'producer',
  'query',
  'redrive',
  'sensor-stats',
  'sent-received',
  'topic-admin',
];

describe('npm run bench -- --smoke', () => {
  const out = mkdtempSync(join(tmpdir(), 'microbatch-bench-test-'));
  afterAll(async () => {
    rmSync(out, { recursive: true, force: true });
    await closeCassandra();
  });

  it('measures every section, writes the JSON and the chart, and cleans up after itself', async () => {
    // The real entry point, as `npm run bench` runs it (tsx, and the script's NODE_OPTIONS), in a process of its own.
    const script = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts['bench']!;
    const nodeOptions = /NODE_OPTIONS=(\S+)/.exec(script)?.[1] ?? '';
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 170_000,
      env: { ...process.env, FORCE_COLOR: '0', NODE_OPTIONS: nodeOptions },
    });
    expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr.slice(-3000) }).toEqual({
      status: 0,
      stderr: '',
    });
    // The terminal table and the targets.
    expect(run.stdout).toMatch(/\| measure\s+\| value/);
    expect(run.stdout).toMatch(/Cassandra, unlogged batch/);
    expect(run.stdout).toMatch(/processing delay p99 at 500\/s, window 1 s/);

    const jsonFile = /JSON:\s+(\S+)/.exec(run.stdout)?.[1];
    const chartFile = /Chart:\s+(\S+)/.exec(run.stdout)?.[1];
    expect(jsonFile && chartFile).toBeTruthy();
    const report = JSON.parse(readFileSync(join(ROOT, jsonFile!), 'utf8')) as BenchReport;
    expect(report.mode).toBe('smoke');
    // The handlers' bundles were measured and removed, not left in the temporary directory.
    expect(existsSync(join(tmpdir(), `microbatch-bench-${report.id}`))).toBe(false);
    expect(report.files.json).toBe(join(out, jsonFile!.split('/').pop()!));

    // 1. Cassandra ceiling: both methods at every level, CPU per row measured; each method's best level run twice
    // (smoke), the slower run standing for it; the ceiling is the faster method.
    const c = report.cassandraCeiling!;
    expect(new Set(c.levels.map((l) => l.method))).toEqual(new Set(['single', 'unlogged batch']));
    for (const level of c.levels) {
      expect(level.rate).toBeGreaterThan(0);
      expect(level.cpuMicrosPerRecord.bench).toBeGreaterThan(0);
    }
    expect(c.levels.filter((l) => l.run === 1)).toHaveLength(4);
    for (const chosen of Object.values(c.byMethod)) {
      const runs = c.levels.filter((l) => l.method === chosen.method && l.concurrency === chosen.concurrency);
      expect(runs.map((r) => r.run)).toEqual([1, 2]);
      expect(chosen.rate).toBe(Math.min(...runs.map((r) => r.rate)));
    }
    expect(c.best.rate).toBe(Math.max(...Object.values(c.byMethod).map((l) => l.rate)));
    expect(c.byMethod['unlogged batch']!.rowsPerRequest).toBe(30);

    // 2. Kafka ceiling and the runner alone read every record.
    expect(report.kafkaCeiling!.records).toBeGreaterThanOrEqual(report.settings.count);
    expect(report.kafkaCeiling!.rate).toBeGreaterThan(0);
    expect(report.runnerEmptyHandler!.records).toBe(report.settings.count);

    // 3. The pipeline wrote every record exactly once, checkpoints included, and its ratios are sane.
    const p = report.pipeline!;
    expect(p.records).toBe(report.settings.count);
    expect(p.verified).toEqual({ rows: report.settings.count, checkpointed: report.settings.count });
    expect(p.rate).toBeGreaterThan(0);
    expect(p.ratioToCassandra).toBeGreaterThan(0);
    expect(p.ratioToKafka).toBeGreaterThan(0);
    expect(p.ratioToKafka!).toBeLessThanOrEqual(1.5);
    expect(p.batches.count).toBeGreaterThan(0);
    // The consumer's event loop was measured, and Cassandra's CPU broken down by thread group (native JVMs here).
    expect(p.eventLoop!.utilization).toBeGreaterThan(0);
    expect(p.eventLoop!.utilization).toBeLessThanOrEqual(1);
    expect(p.steadyCpu!.cpuMicrosPerRecord.bench).toBeGreaterThan(0);
    expect(Object.keys(p.cpu.threads?.['cassandra'] ?? {})).toContain('request stages');
    // Cassandra's cost per row under the ceiling at the pipeline's own rate, beside the pipeline's.
    expect(run.stdout).toMatch(/Cassandra at the pipeline's rate\s+\|\s+[\d.]+ µs\/row/);
    // Every row went to Cassandra in unlogged batches of at most 30 (or alone).
    const rows = Object.entries(p.statements)
      .filter(([kind]) => kind.startsWith('row INSERT'))
      .reduce((n, [, st]) => n + st.rows, 0);
    expect(rows).toBe(report.settings.count);
    expect(p.statements['row INSERT (unlogged batch)']!.rows).toBeLessThanOrEqual(
      30 * p.statements['row INSERT (unlogged batch)']!.count,
    );
    expect(p.cpu.seconds).toBeGreaterThan(0);
    expect(p.cpuMicrosPerRecord.bench).toBeGreaterThan(0);

    // 4. Latency at the fixed rate and at half the pipeline's: every record written, percentiles ordered, the
    // processing delay below the latency.
    expect(report.latency.map((l) => l.name)).toEqual(['fixed', 'half']);
    for (const l of report.latency) {
      expect(l.sent).toBeGreaterThan(0);
      const d = l.rowWrittenMs;
      expect(d.count).toBeGreaterThan(0);
      expect(d.p50).toBeGreaterThan(0);
      expect(d.p50).toBeLessThanOrEqual(d.p95);
      expect(d.p95).toBeLessThanOrEqual(d.p99);
      expect(d.p99).toBeLessThanOrEqual(d.max);
      expect(l.processingDelayMs.count).toBe(d.count);
      expect(l.processingDelayMs.p99).toBeLessThanOrEqual(d.p99);
      expect(l.batchCommittedMs.p50).toBeGreaterThanOrEqual(d.p50);
    }

    // 5. The restart: killed, restarted, the next batch committed, each step after the one before.
    const r = report.restart!;
    expect(r.processUpMs).toBeGreaterThan(0);
    expect(r.joinedMs).toBeGreaterThanOrEqual(r.processUpMs);
    expect(r.firstBatchMs).toBeGreaterThanOrEqual(r.fetchedMs);

    // 6. Every handler bundled, importable, with its breakdown adding up to its size.
    expect(report.handlers!.handlers.map((h) => h.handler)).toEqual(HANDLERS);
    for (const h of report.handlers!.handlers) {
      expect(h.bytes).toBeGreaterThan(100_000);
      expect(h.importMs).toBeGreaterThan(0);
      expect(h.bareImportMs).toBeGreaterThan(0);
      expect(h.exportsHandler).toBe(true);
      const sum = h.breakdown.reduce((n, part) => n + part.bytes, 0);
      expect(sum).toBeGreaterThan(0.9 * h.bytes);
      expect(sum).toBeLessThanOrEqual(h.bytes);
      // The import's parts, each measured in processes of its own: every bundle requires built-in modules
      // (net, tls, crypto...) and takes time to compile.
      expect(h.importParts.builtinsMs).toBeGreaterThan(0);
      expect(h.importParts.compileMs).toBeGreaterThan(0);
      expect(h.importParts.topLevelMs).toBeGreaterThanOrEqual(0);
    }

    // The consumer's deployed bundle, run against the real Cassandra in processes with the Lambda runtime's heap
    // flags for 512 MB, and with this process's: every measured invocation wrote its records.
    const lambda = report.lambdaSized!;
    expect(lambda.runs.map((r) => [r.label, r.semiSpaceMb, r.oldSpaceMb])).toEqual([
      ['512 MB', 25, 461],
      ['pipeline phase flags', ownSemiSpaceMb([], nodeOptions), null],
    ]);
    for (const r of lambda.runs) {
      expect(r.invocations).toBe(2);
      // One warm-up invocation and two measured, 300 records each, all checkpointed.
      expect({ checkpointed: r.checkpointed, sent: r.sent }).toEqual({ checkpointed: 900, sent: 900 });
      expect(r.cpuMicrosPerRecord).toBeGreaterThan(0);
    }
    // One round in the smoke: each variant's summary is its one run.
    expect(
      lambda.variants.map((v) => [v.label, v.rounds, v.cpuMicrosPerRecord, v.checkpointed, v.sent]),
    ).toEqual(lambda.runs.map((r) => [r.label, 1, r.cpuMicrosPerRecord, 900, 900]));
    expect(ownSemiSpaceMb([], nodeOptions)).not.toBeNull();
    // The 512 MB child really ran with the runtime's heap: its old space (461 MB) and three semi-spaces.
    expect(lambda.runs[0]!.heapLimitMb).toBeGreaterThan(461);
    expect(lambda.runs[0]!.heapLimitMb).toBeLessThan(461 + 3 * 64);
    expect(lambda.runs[0]!.heapLimitMb).toBeLessThan(lambda.runs[1]!.heapLimitMb);
    expect(run.stdout).toMatch(/sent-received handler, 512 MB/);

    // 7. The targets, and the chart.
    expect(report.targets.map((t) => t.name)).toEqual([
      'pipeline throughput',
      'consumer CPU per record',
      'Cassandra CPU per record',
      'processing delay p99 at 500/s, window 1 s',
      `processing delay p99 at ${report.latency[1]!.rate}/s, window 1 s`,
      'restart after SIGKILL',
      ...HANDLERS.map((h) => `bundle ${h}`),
    ]);
    // A missed target says what bounds it and the next step; one that holds says neither.
    for (const t of report.targets) {
      if (t.holds === false) expect(t.next, t.name).toEqual(expect.any(String));
      else
        expect({ name: t.name, bound: t.bound, next: t.next }).toEqual({
          name: t.name,
          bound: undefined,
          next: undefined,
        });
    }
    expect(existsSync(join(ROOT, chartFile!))).toBe(true);
    const svg = readFileSync(join(ROOT, chartFile!), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toMatch(/Pipeline: rows written per second/);
    expect(svg).toMatch(/processing delay \(p99\)/);
    expect(svg).toMatch(/Restart after SIGKILL/);
    expect(svg).toMatch(/Handler bundles \(minified KB\) by dependency/);

    // Nothing left behind: the run's keyspace, topics and groups are gone.
    const client = await cassandra();
    const keyspaces = await client.execute('SELECT keyspace_name FROM system_schema.keyspaces');
    expect(keyspaces.rows.map((r) => r.get('keyspace_name') as string)).not.toContain(`bench_${report.id}`);
    const admin = kafka().admin();
    await admin.connect();
    try {
      const left = (await admin.listTopics()).filter((t) => t.startsWith(`bench-${report.id}-`));
      expect(left).toEqual([]);
      const groups = (await admin.listGroups()).groups.filter((g) =>
        g.groupId.startsWith(`bench-${report.id}-`),
      );
      expect(groups).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  }, 200_000);
});
