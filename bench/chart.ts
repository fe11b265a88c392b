/**
 * The report as one SVG, with no dependency: the pipeline's write rate over time against the Cassandra ceiling,
 * the ceiling's levels by method, CPU per record, latency and processing delay over time against their targets,
 * the restart's steps, and the handlers' bundle sizes by dependency against 500 KB.
 */
import {
  DELAY_TARGET_MS,
  MAX_BUNDLE_BYTES,
  PIPELINE_TARGET_RATIO,
  RESTART_TARGET_MS,
  fmt,
  pct,
  type BenchReport,
} from './report';

interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw || 1));
  const n = raw / pow;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * pow;
}

class Panel {
  readonly parts: string[] = [];
  constructor(
    private readonly box: Box,
    private readonly xMax: number,
    private readonly yMax: number,
    title: string,
    xLabel: string,
    yLabel: string,
  ) {
    const { x, y, w, h } = box;
    this.parts.push(`<text x="${x}" y="${y - 12}" class="title">${esc(title)}</text>`);
    this.parts.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" class="frame"/>`);
    const ys = niceStep(yMax, 5);
    for (let v = 0; v <= yMax + 1e-9; v += ys) {
      const py = this.py(v);
      this.parts.push(`<line x1="${x}" x2="${x + w}" y1="${py}" y2="${py}" class="grid"/>`);
      this.parts.push(`<text x="${x - 6}" y="${py + 4}" class="tick" text-anchor="end">${fmt(v)}</text>`);
    }
    const xs = niceStep(xMax, 8);
    for (let v = 0; v <= xMax + 1e-9; v += xs) {
      const px = this.px(v);
      this.parts.push(`<text x="${px}" y="${y + h + 16}" class="tick" text-anchor="middle">${fmt(v)}</text>`);
    }
    this.parts.push(
      `<text x="${x + w / 2}" y="${y + h + 34}" class="label" text-anchor="middle">${esc(xLabel)}</text>`,
    );
    this.parts.push(
      `<text x="${x - 58}" y="${y + h / 2}" class="label" text-anchor="middle" transform="rotate(-90 ${x - 58} ${y + h / 2})">${esc(yLabel)}</text>`,
    );
  }
  px(v: number): number {
    return Math.round((this.box.x + (v / (this.xMax || 1)) * this.box.w) * 10) / 10;
  }
  py(v: number): number {
    const clamped = Math.max(0, Math.min(this.yMax, v));
    return Math.round((this.box.y + this.box.h - (clamped / (this.yMax || 1)) * this.box.h) * 10) / 10;
  }
  line(points: ReadonlyArray<readonly [number, number]>, cls: string): void {
    if (!points.length) return;
    const d = points.map(([vx, vy], i) => `${i ? 'L' : 'M'}${this.px(vx)},${this.py(vy)}`).join(' ');
    this.parts.push(`<path d="${d}" class="${cls}"/>`);
  }
  hline(v: number, cls: string, label: string): void {
    const py = this.py(v);
    this.parts.push(
      `<line x1="${this.box.x}" x2="${this.box.x + this.box.w}" y1="${py}" y2="${py}" class="${cls}"/>`,
    );
    this.parts.push(
      `<text x="${this.box.x + this.box.w - 4}" y="${py - 4}" class="note ${cls}-text" text-anchor="end">${esc(label)}</text>`,
    );
  }
  note(text: string, line: number): void {
    this.parts.push(
      `<text x="${this.box.x + 8}" y="${this.box.y + 16 + line * 14}" class="note">${esc(text)}</text>`,
    );
  }
}

/** A horizontal bar chart: one row per item, optional stacked parts, and a limit line. */
function bars(
  parts: string[],
  at: { x: number; y: number; w: number },
  title: string,
  rows: ReadonlyArray<{
    label: string;
    segments: ReadonlyArray<{ value: number; cls: string; title?: string }>;
    text: string;
  }>,
  max: number,
  limit?: { value: number; label: string },
): number {
  const { x, y, w } = at;
  parts.push(`<text x="${x - 140}" y="${y - 12}" class="title">${esc(title)}</text>`);
  const scale = (v: number): number => (v / (max || 1)) * w;
  rows.forEach((row, i) => {
    const top = y + i * 22;
    parts.push(`<text x="${x - 8}" y="${top + 13}" class="tick" text-anchor="end">${esc(row.label)}</text>`);
    let left = x;
    for (const seg of row.segments) {
      const width = Math.max(0, scale(seg.value));
      parts.push(
        `<rect x="${left.toFixed(1)}" y="${top}" width="${width.toFixed(1)}" height="16" class="${seg.cls}">${seg.title ? `<title>${esc(seg.title)}</title>` : ''}</rect>`,
      );
      left += width;
    }
    parts.push(`<text x="${(left + 6).toFixed(1)}" y="${top + 13}" class="tick">${esc(row.text)}</text>`);
  });
  const bottom = y + rows.length * 22;
  if (limit) {
    const lx = x + scale(limit.value);
    parts.push(`<line x1="${lx}" x2="${lx}" y1="${y - 4}" y2="${bottom}" class="target"/>`);
    parts.push(
      `<text x="${lx}" y="${bottom + 12}" class="note target-text" text-anchor="middle">${esc(limit.label)}</text>`,
    );
  }
  return bottom + 40;
}

export function renderChart(report: BenchReport): string {
  const W = 960;
  const parts: string[] = [];
  const m = report.machine;
  parts.push(
    `<text x="24" y="28" class="heading">microbatch benchmark (${report.mode}), ${esc(report.startedAt.slice(0, 16).replace('T', ' '))} UTC</text>`,
  );
  parts.push(
    `<text x="24" y="46" class="note">${esc(`${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; Kafka ${m.kafka}, Cassandra ${m.cassandra}; load ${m.loadAverage1mAtStart} -> ${m.loadAverage1mAtEnd}; ${fmt(report.settings.count)} records of ${report.settings.payloadBytes} B, ${report.settings.partitions} partitions, batch ${fmt(report.settings.batchSize)}, window ${report.settings.windowSeconds} s`)}</text>`,
  );
  let y = 80;

  // 1. Throughput over time, against the ceiling.
  const p = report.pipeline;
  const c = report.cassandraCeiling;
  const cass = c?.best.rate;
  const kafka = report.kafkaCeiling?.rate;
  if (p) {
    const xMax = Math.max(1, ...p.timeline.map((s) => s.t + 1));
    const peak = Math.max(1, ...p.timeline.map((s) => s.rate), cass ?? 0);
    const yMax = peak * 1.15;
    const panel = new Panel(
      { x: 90, y, w: W - 130, h: 200 },
      xMax,
      yMax,
      'Pipeline: rows written per second',
      'seconds since the runner joined its group',
      'records/s',
    );
    panel.line(
      p.timeline.flatMap(
        (s) =>
          [
            [s.t, s.rate],
            [s.t + 1, s.rate],
          ] as const,
      ),
      'series',
    );
    if (cass && c) {
      panel.hline(cass, 'ceiling', `Cassandra ceiling ${fmt(cass)}/s (${c.best.method})`);
      panel.hline(
        cass * PIPELINE_TARGET_RATIO,
        'target',
        `target ${PIPELINE_TARGET_RATIO * 100}%: ${fmt(cass * PIPELINE_TARGET_RATIO)}/s`,
      );
    }
    if (kafka) panel.note(`Kafka ceiling ${fmt(kafka)}/s`, 1);
    panel.note(
      `pipeline steady ${fmt(p.steady?.rate ?? p.rate)}/s = ${pct(p.ratioToCassandra)}; whole run ${fmt(p.rate)}/s over ${p.seconds.toFixed(1)} s`,
      0,
    );
    parts.push(...panel.parts);
    y += 200 + 70;
  }

  // 2. The ceiling's levels, by method.
  if (c) {
    y = bars(
      parts,
      { x: 230, y, w: W - 400 },
      'Cassandra ceiling: rows/s by client method and requests in flight',
      c.levels.map((l) => ({
        label: `${l.method} × ${l.concurrency}${l.run > 1 ? `, run ${l.run}` : ''}`,
        segments: [{ value: l.rate, cls: l === c.best ? 'bar-best' : 'bar' }],
        text: `${fmt(l.rate)}/s, client ${l.cpuMicrosPerRecord.bench?.toFixed(1) ?? 'n/a'} µs/row, Cassandra ${l.cpuMicrosPerRecord.cassandra?.toFixed(1) ?? 'n/a'} µs/row`,
      })),
      Math.max(...c.levels.map((l) => l.rate), p ? (p.steady?.rate ?? p.rate) : 0) * 1.1,
      // The steady rate, as the ratio to the ceiling takes it.
      p
        ? { value: p.steady?.rate ?? p.rate, label: `pipeline ${fmt(p.steady?.rate ?? p.rate)}/s` }
        : undefined,
    );
  }

  // 3. CPU per record: the ceiling's best level against the pipeline.
  if (p && c) {
    const procs = ['bench', 'cassandra', 'kafka'] as const;
    const rows = [
      { label: 'ceiling (best level)', of: c.best.cpuMicrosPerRecord },
      // The steady part's, as the CPU targets judge it; the whole run's adds the join and the last window.
      p.steadyCpu
        ? { label: 'pipeline (steady part)', of: p.steadyCpu.cpuMicrosPerRecord }
        : { label: 'pipeline', of: p.cpuMicrosPerRecord },
    ].map((r) => ({
      label: r.label,
      segments: procs.map((k) => ({ value: r.of[k] ?? 0, cls: `cpu-${k}`, title: k })),
      text:
        procs.map((k) => `${k === 'bench' ? 'client' : k} ${(r.of[k] ?? 0).toFixed(1)}`).join(' + ') + ' µs',
    }));
    const max = Math.max(...rows.map((r) => r.segments.reduce((a, s) => a + s.value, 0)));
    y = bars(
      parts,
      { x: 230, y, w: W - 480 },
      'CPU µs per record (client or consumer, Cassandra, Kafka)',
      rows,
      max * 1.1,
    );
  }

  // 4. Latency and processing delay over time, per latency phase.
  for (const l of report.latency) {
    const limit = DELAY_TARGET_MS[l.name];
    const xMax = Math.max(1, ...l.timeline.map((s) => s.t + 1));
    const yMax = Math.max(limit * 2, ...l.timeline.map((s) => s.max)) * 1.1;
    const panel = new Panel(
      { x: 90, y, w: W - 130, h: 160 },
      xMax,
      yMax,
      `Latency at ${fmt(l.rate)}/s, window ${l.windowSeconds} s: send to row written (p50, p99, max) and processing delay (p99)`,
      'send time, seconds since the producer started',
      'ms',
    );
    panel.line(
      l.timeline.map((s) => [s.t + 0.5, s.max] as const),
      'max',
    );
    panel.line(
      l.timeline.map((s) => [s.t + 0.5, s.p99] as const),
      'p99',
    );
    panel.line(
      l.timeline.map((s) => [s.t + 0.5, s.p50] as const),
      'p50',
    );
    panel.line(
      l.timeline.filter((s) => Number.isFinite(s.delayP99)).map((s) => [s.t + 0.5, s.delayP99] as const),
      'delay',
    );
    panel.hline(limit, 'target', `processing delay target p99 <= ${fmt(limit)} ms`);
    panel.note(
      `latency p50 ${fmt(l.rowWrittenMs.p50)}, p99 ${fmt(l.rowWrittenMs.p99)} ms; processing delay p99 ${fmt(l.processingDelayMs.p99)} ms (blue p50, red p99, grey max, green delay p99)`,
      0,
    );
    parts.push(...panel.parts);
    y += 160 + 70;
  }

  // 5. Restart.
  const r = report.restart;
  if (r) {
    const steps = [
      { value: r.processUpMs, cls: 'step-1', title: 'process up' },
      { value: Math.max(0, r.joinedMs - r.processUpMs), cls: 'step-2', title: 'joined the group' },
      { value: Math.max(0, r.fetchedMs - r.joinedMs), cls: 'step-3', title: 'first records' },
      { value: Math.max(0, r.firstBatchMs - r.fetchedMs), cls: 'step-4', title: 'first batch committed' },
    ];
    y = bars(
      parts,
      { x: 230, y, w: W - 480 },
      'Restart after SIGKILL: from the kill to the next batch (process up, joined, first records, batch)',
      [
        {
          label: r.staticMembership ? 'static member' : 'dynamic member',
          segments: steps,
          text: `${fmt(r.firstBatchMs)} ms`,
        },
      ],
      Math.max(RESTART_TARGET_MS, r.firstBatchMs) * 1.1,
      { value: RESTART_TARGET_MS, label: `${RESTART_TARGET_MS / 1000} s` },
    );
  }

  // 6. Bundle sizes by dependency.
  const handlers = report.handlers?.handlers ?? [];
  if (handlers.length) {
    const palette = ['dep-0', 'dep-1', 'dep-2', 'dep-3', 'dep-4'];
    y = bars(
      parts,
      { x: 230, y, w: W - 480 },
      'Handler bundles (minified KB) by dependency, and cold import time',
      handlers.map((h) => {
        const top = h.breakdown.slice(0, palette.length);
        const rest = h.bytes - top.reduce((a, b) => a + b.bytes, 0);
        return {
          label: h.handler,
          segments: [
            ...top.map((part, i) => ({
              value: part.bytes,
              cls: palette[i]!,
              title: `${part.name} ${fmt(part.bytes / 1024)} KB`,
            })),
            { value: rest, cls: 'dep-rest', title: 'the rest' },
          ],
          text: `${fmt(h.bytes / 1024)} KB, ${h.importMs.toFixed(0)} ms${
            top.length
              ? `: ${top
                  .slice(0, 3)
                  .map((t) => t.name)
                  .join(', ')}`
              : ''
          }`,
        };
      }),
      Math.max(MAX_BUNDLE_BYTES, ...handlers.map((h) => h.bytes)) * 1.05,
      { value: MAX_BUNDLE_BYTES, label: `${fmt(MAX_BUNDLE_BYTES / 1024)} KB` },
    );
  }

  const height = y + 10;
  const style = `
    text { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; fill: #222; }
    .heading { font-size: 16px; font-weight: 600; }
    .title { font-size: 13px; font-weight: 600; }
    .label { font-size: 11px; fill: #555; }
    .tick { font-size: 10px; fill: #444; }
    .note { font-size: 10px; fill: #444; }
    .frame { fill: #fbfbfb; stroke: #bbb; }
    .grid { stroke: #e4e4e4; }
    .series { fill: none; stroke: #1f6feb; stroke-width: 1.6; }
    .p50 { fill: none; stroke: #1f6feb; stroke-width: 1.6; }
    .p99 { fill: none; stroke: #d1242f; stroke-width: 1.6; }
    .delay { fill: none; stroke: #1a7f37; stroke-width: 1.6; }
    .max { fill: none; stroke: #999; stroke-width: 1; }
    .ceiling { stroke: #d1242f; stroke-dasharray: 6 4; }
    .ceiling-text { fill: #d1242f; }
    .target { stroke: #bf8700; stroke-dasharray: 2 3; stroke-width: 1.5; }
    .target-text { fill: #9a6700; }
    .bar { fill: #8cc5ff; }
    .bar-best { fill: #1f6feb; }
    .cpu-bench { fill: #1f6feb; }
    .cpu-cassandra { fill: #d1242f; }
    .cpu-kafka { fill: #8250df; }
    .step-1 { fill: #afb8c1; }
    .step-2 { fill: #8250df; }
    .step-3 { fill: #1f6feb; }
    .step-4 { fill: #2da44e; }
    .dep-0 { fill: #0550ae; }
    .dep-1 { fill: #1f6feb; }
    .dep-2 { fill: #54aeff; }
    .dep-3 { fill: #80ccff; }
    .dep-4 { fill: #b6e3ff; }
    .dep-rest { fill: #d0d7de; }`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}">`,
    `<style>${style}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
