/**
 * The report as one SVG, with no dependency: the pipeline's write rate over time against both ceilings, the
 * latency from send to row over time against its target, and the handlers' bundle sizes against 1 MB.
 */
import { LATENCY_SLACK_MS, MAX_BUNDLE_BYTES, PIPELINE_TARGET_RATIO, fmt, type BenchReport } from './report';

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

export function renderChart(report: BenchReport): string {
  const W = 960;
  const parts: string[] = [];
  const m = report.machine;
  parts.push(
    `<text x="24" y="28" class="heading">microbatch benchmark (${report.mode}), ${esc(report.startedAt.slice(0, 16).replace('T', ' '))} UTC</text>`,
  );
  parts.push(
    `<text x="24" y="46" class="note">${esc(`${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; Kafka ${m.kafka}, Cassandra ${m.cassandra}; ${fmt(report.settings.count)} records of ${report.settings.payloadBytes} B, ${report.settings.partitions} partitions, batch ${fmt(report.settings.batchSize)}, window ${report.settings.windowSeconds} s`)}</text>`,
  );

  // 1. Throughput over time.
  const p = report.pipeline;
  const cass = report.cassandraCeiling?.best.rate;
  const kafka = report.kafkaCeiling?.rate;
  if (p) {
    const xMax = Math.max(1, ...p.timeline.map((s) => s.t + 1));
    const peak = Math.max(1, ...p.timeline.map((s) => s.rate), cass ?? 0);
    const yMax = peak * 1.15;
    const panel = new Panel(
      { x: 90, y: 80, w: W - 130, h: 220 },
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
    if (cass) {
      panel.hline(cass, 'ceiling', `Cassandra ceiling ${fmt(cass)}/s`);
      panel.hline(
        cass * PIPELINE_TARGET_RATIO,
        'target',
        `target ${PIPELINE_TARGET_RATIO * 100}%: ${fmt(cass * PIPELINE_TARGET_RATIO)}/s`,
      );
    }
    if (kafka) {
      if (kafka <= yMax) panel.hline(kafka, 'kafka', `Kafka ceiling ${fmt(kafka)}/s`);
      else panel.note(`Kafka ceiling ${fmt(kafka)}/s (above the scale)`, 1);
    }
    panel.note(`pipeline mean ${fmt(p.rate)}/s over ${p.seconds.toFixed(1)} s`, 0);
    parts.push(...panel.parts);
  }

  // 2. Latency over time.
  const l = report.latency;
  if (l) {
    const limit = l.windowSeconds * 1000 + LATENCY_SLACK_MS;
    const xMax = Math.max(1, ...l.timeline.map((s) => s.t + 1));
    const yMax = Math.max(limit, ...l.timeline.map((s) => s.max)) * 1.1;
    const panel = new Panel(
      { x: 90, y: 360, w: W - 130, h: 200 },
      xMax,
      yMax,
      `Latency, send to row written, at ${fmt(l.rate)}/s (per-second p50, p99, max)`,
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
    panel.hline(limit, 'target', `target p99 <= ${fmt(limit)} ms`);
    const d = l.rowWrittenMs;
    panel.note(
      `overall p50 ${fmt(d.p50)} ms, p95 ${fmt(d.p95)} ms, p99 ${fmt(d.p99)} ms (blue p50, red p99, grey max)`,
      0,
    );
    parts.push(...panel.parts);
  }

  // 3. Bundle sizes.
  const handlers = report.handlers?.handlers ?? [];
  if (handlers.length) {
    const x0 = 230;
    const y0 = 620;
    const barW = W - x0 - 120;
    parts.push(
      `<text x="90" y="${y0 - 12}" class="title">Handler bundles (minified) and cold import time</text>`,
    );
    const scale = (bytes: number): number => (bytes / (MAX_BUNDLE_BYTES * 1.1)) * barW;
    handlers.forEach((h, i) => {
      const y = y0 + i * 22;
      parts.push(`<text x="${x0 - 8}" y="${y + 13}" class="tick" text-anchor="end">${esc(h.handler)}</text>`);
      parts.push(
        `<rect x="${x0}" y="${y}" width="${scale(h.bytes).toFixed(1)}" height="16" class="${h.bytes <= MAX_BUNDLE_BYTES ? 'bar' : 'bar-over'}"/>`,
      );
      parts.push(
        `<text x="${x0 + scale(h.bytes) + 6}" y="${y + 13}" class="tick">${(h.bytes / 2 ** 20).toFixed(2)} MB, ${h.importMs.toFixed(0)} ms</text>`,
      );
    });
    const limitX = x0 + scale(MAX_BUNDLE_BYTES);
    parts.push(
      `<line x1="${limitX}" x2="${limitX}" y1="${y0 - 4}" y2="${y0 + handlers.length * 22}" class="target"/>`,
    );
    parts.push(
      `<text x="${limitX}" y="${y0 + handlers.length * 22 + 14}" class="note target-text" text-anchor="middle">1 MB</text>`,
    );
  }

  const height = 620 + Math.max(1, handlers.length) * 22 + 40;
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
    .max { fill: none; stroke: #999; stroke-width: 1; }
    .ceiling { stroke: #d1242f; stroke-dasharray: 6 4; }
    .ceiling-text { fill: #d1242f; }
    .kafka { stroke: #8250df; stroke-dasharray: 6 4; }
    .kafka-text { fill: #8250df; }
    .target { stroke: #bf8700; stroke-dasharray: 2 3; stroke-width: 1.5; }
    .target-text { fill: #9a6700; }
    .bar { fill: #2da44e; }
    .bar-over { fill: #d1242f; }`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}">`,
    `<style>${style}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
