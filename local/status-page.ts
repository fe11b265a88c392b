/**
 * A small status page on port 4040, where Spark shows its UI: the recent micro-batches of each job from the
 * batch ledger, refreshed every 5 seconds. `/api/batches` serves the same rows as JSON.
 */
import { createServer, type Server } from 'node:http';
import type { Client } from 'cassandra-driver';
import { JOB_NAMES } from '../schema';
import { recentBatches, type LedgerRow } from '../lambda/runtime/queries';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderStatusPage(batches: Record<string, LedgerRow[]>, now = new Date()): string {
  const sections = Object.entries(batches).map(([job, rows]) => {
    const body = rows
      .map((b) => {
        const ranges = b.offsetRanges
          .map((r) => `${escape(r.topic)}-${r.partition} [${r.fromOffset} → ${r.untilOffset})`)
          .join('<br>');
        return (
          `<tr><td>${b.startedAt.toISOString()}</td><td><code>${escape(b.batchId.slice(0, 8))}</code></td><td>${ranges}</td>` +
          `<td>${b.recordsIn}</td><td>${b.written}</td><td>${b.duplicates}</td><td>${b.deadLettered}</td><td>${b.late}</td>` +
          `<td>${b.durationMs} ms</td><td>${b.watermarkMs === null ? '' : new Date(b.watermarkMs).toISOString()}</td></tr>`
        );
      })
      .join('\n');
    return (
      `<h2>${escape(job)}</h2><table><thead><tr><th>started</th><th>batch</th><th>offset ranges</th><th>in</th><th>written</th>` +
      `<th>duplicates</th><th>dead letters</th><th>late</th><th>duration</th><th>watermark</th></tr></thead><tbody>${body || '<tr><td colspan="10">no batches yet</td></tr>'}</tbody></table>`
    );
  });
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>micro-batches</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:nth-child(3){text-align:left}</style>
</head><body><h1>Streaming: micro-batches</h1><p>Updated ${now.toISOString()}</p>${sections.join('\n')}</body></html>`;
}

export function startStatusPage(client: Client, keyspace: string, port = 4040): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const batches: Record<string, LedgerRow[]> = {};
        for (const job of JOB_NAMES) batches[job] = await recentBatches(client, keyspace, job, 20);
        if (req.url?.startsWith('/api/batches')) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(batches));
        } else {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(renderStatusPage(batches));
        }
      } catch (error) {
        res
          .writeHead(503, { 'content-type': 'text/plain' })
          .end(`Cassandra is not answering: ${String(error)}`);
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
