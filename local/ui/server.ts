/**
 * The UI on port 4040, where Spark shows its own: Node's `http`, four pages and the JSON API behind them.
 * The pages are static shells; `static/app.js` fills them from `/api/...` and polls it, so every number on a
 * page is one a script can read too. uPlot is served from node_modules: no CDN, works offline.
 *
 * Everything from the data reaches the page through `textContent` or uPlot's canvas, never as HTML, and the
 * Content-Security-Policy allows only this server's own scripts, so a payload of `<script>` stays text.
 */
import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { BlockList, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errors } from '../../lambda/runtime/cassandra-driver';
import { DEAD_LETTER_REASONS } from '../../lambda/runtime/errors';
import { BadRequest, NotFound, type Views } from './views';
import type { UiJob } from './jobs';

const STATIC_DIR = join(__dirname, 'static');
const UPLOT_DIR = join(dirname(require.resolve('uplot/package.json')), 'dist');

const STATIC: Record<string, { file: string; type: string }> = {
  '/static/app.js': { file: join(STATIC_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/static/app.css': { file: join(STATIC_DIR, 'app.css'), type: 'text/css; charset=utf-8' },
  '/static/uPlot.iife.min.js': {
    file: join(UPLOT_DIR, 'uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/static/uPlot.min.css': { file: join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/**
 * The answer to a failed API request: the caller's mistake (400, 404), Cassandra not answering (503: the driver's
 * own errors), or a fault of the UI itself (500), whose message names no internals.
 */
export function apiError(error: unknown): { status: number; message: string } {
  if (error instanceof BadRequest) return { status: 400, message: error.message };
  if (error instanceof NotFound) return { status: 404, message: error.message };
  if (error instanceof errors.DriverError)
    return { status: 503, message: `The data store did not answer: ${error.message}` };
  return { status: 500, message: 'The UI failed on this request; its log has the error.' };
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The API, as `/api` lists it and the README documents it. */
export const API_INDEX = [
  {
    path: '/api/jobs',
    doc: 'every job: state, rates, lag, last batch, active batches, dead letters, skipped ranges',
  },
  { path: '/api/jobs/{job}', doc: 'one job, as in /api/jobs' },
  { path: '/api/jobs/{job}/series?range=5m|1h|24h', doc: 'the chart series of the job page' },
  { path: '/api/jobs/{job}/batches?limit=20&cursor=...', doc: 'recent batches, newest first, paginated' },
  {
    path: '/api/jobs/{job}/batches/{startedAt}/{batchId}',
    doc: 'one batch: offset ranges, counts, phases, checkpoints, dead letters',
  },
  { path: '/api/jobs/{job}/skipped-ranges', doc: 'ranges the event source skipped, and the redrive command' },
  {
    path: '/api/dead-letters?job=&reason=&topic=&partition=&from=&to=&limit=50&raw=0&cursor=...',
    doc: 'dead letters, newest first, filtered; raw=1 adds each stored payload as valueBase64',
  },
] as const;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

type Page = 'overview' | 'job' | 'batch' | 'dead-letters';

export function renderShell(
  page: Page,
  title: string,
  attrs: Record<string, string> = {},
  refreshMs = 5000,
): string {
  const data = Object.entries({ page, refreshMs: String(refreshMs), ...attrs })
    .map(([k, v]) => ` data-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}="${escapeHtml(v)}"`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · microbatch</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/uPlot.min.css">
<link rel="stylesheet" href="/static/app.css">
</head>
<body${data}>
<header class="top">
  <a class="brand" href="/">microbatch</a>
  <nav aria-label="Main"><a href="/">Jobs</a> <a href="/dead-letters">Dead letters</a> <a href="/api">API</a></nav>
  <span class="live" role="status" aria-live="polite" id="live">loading…</span>
</header>
<main id="main"><h1>${escapeHtml(title)}</h1><p class="muted">Loading… (this page needs JavaScript; the same data is at <a href="/api">/api</a>.)</p></main>
<script src="/static/uPlot.iife.min.js"></script>
<script src="/static/app.js"></script>
</body>
</html>
`;
}

export interface UiServerOptions {
  readonly views: Views;
  readonly jobs: () => readonly UiJob[];
  /** How often the pages poll the API. @default 5000 */
  readonly refreshMs?: number;
  /** How long an API answer is reused for other requests of the same URL, bounding the load of many tabs. @default 2000 */
  readonly cacheMs?: number;
  /**
   * Answer only requests addressed to a loopback name, so a web page whose DNS name is rebound to 127.0.0.1
   * cannot read the API. Set when the server listens on a loopback address (`isLoopback`). @default false
   */
  readonly loopbackOnly?: boolean;
  /** Where a request's failure that is the UI's own fault (a 500) is logged. @default - JSON on stderr */
  readonly log?: (line: Record<string, unknown>) => void;
}

/** This machine's own addresses: 127.0.0.0/8 and ::1 (BlockList also matches them IPv4-mapped, ::ffff:127.x). */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether `host` (a --host value, or a Host header's name without its port) is `localhost` or a loopback
 * address in any of its spellings: 127.0.0.2 and 0:0:0:0:0:0:0:1 are as loopback as 127.0.0.1 and ::1.
 * A DNS name other than localhost is not: it is what a rebinding page would send.
 */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost') return true;
  const family = isIP(name);
  return family !== 0 && LOOPBACK.check(name, family === 4 ? 'ipv4' : 'ipv6');
}

export function createUiServer(options: UiServerOptions): Server {
  const refreshMs = options.refreshMs ?? 5000;
  const cacheMs = options.cacheMs ?? 2000;
  const cache = new Map<string, { at: number; body: Promise<unknown> }>();
  const log = options.log ?? ((line: Record<string, unknown>) => console.error(JSON.stringify(line)));
  const files = new Map<string, Buffer>();

  const api = async (path: string[], params: URLSearchParams): Promise<unknown> => {
    const v = options.views;
    if (path.length === 0) return { endpoints: API_INDEX };
    if (path[0] === 'dead-letters' && path.length === 1) return v.deadLetters(params);
    if (path[0] !== 'jobs') throw new NotFound(`No API /api/${path.join('/')}. See /api for the list.`);
    if (path.length === 1) return v.overview();
    const job = path[1]!;
    if (path.length === 2) return v.jobSummary(v.job(job));
    if (path[2] === 'series' && path.length === 3) return v.series(job, params.get('range') ?? '5m');
    if (path[2] === 'skipped-ranges' && path.length === 3) return v.skippedRangesView(job);
    if (path[2] === 'batches' && path.length === 3)
      return v.batches(job, params.get('limit'), params.get('cursor'));
    if (path[2] === 'batches' && path.length === 5) return v.batch(job, path[3]!, path[4]!);
    throw new NotFound(`No API /api/${path.join('/')}. See /api for the list.`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // A refusal carries the page's headers too: the 403 repeats the Host the request named, which a page's
    // author chooses, so it must never be sniffed as HTML.
    const text = (status: number, body: string, headers: Record<string, string> = {}) =>
      res
        .writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS, ...headers })
        .end(body);
    const hostname = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    // Any loopback address, not only the one listened on: an IP literal is no name a page can rebind.
    if (options.loopbackOnly && !isLoopback(hostname)) {
      text(
        403,
        `This UI answers on localhost only, not '${hostname}': start it with --host to serve other names.`,
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      text(405, 'Only GET and HEAD.', { allow: 'GET, HEAD' });
      return;
    }
    let parts: string[];
    try {
      parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      text(400, 'The path is not valid percent-encoding.');
      return;
    }
    const file = STATIC[url.pathname];
    if (file) {
      let body = files.get(file.file);
      if (!body) files.set(file.file, (body = readFileSync(file.file)));
      res
        .writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS })
        .end(body);
      return;
    }
    if (parts[0] === 'api') {
      const key = url.pathname + url.search;
      const now = Date.now();
      let hit = cache.get(key);
      if (!hit || now - hit.at > cacheMs) {
        const entry = { at: now, body: api(parts.slice(1), url.searchParams) };
        cache.set(key, (hit = entry));
        // Dropped once stale, whether or not a request follows: swept on the next miss only, the last tab's
        // answers (raw=1&limit=500: up to 500 payloads of 256 KB) stayed for as long as the server ran.
        // Unref'd: an expiry is no reason to keep the process alive.
        setTimeout(() => {
          if (cache.get(key) === entry) cache.delete(key);
        }, cacheMs).unref();
      }
      try {
        const body = await hit.body;
        res
          .writeHead(200, {
            'content-type': 'application/json; charset=utf-8',
            'cache-control': 'no-store',
            ...SECURITY_HEADERS,
          })
          .end(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
      } catch (error) {
        // Not cached, so the next request asks again; a later request's entry is that request's.
        if (cache.get(key) === hit) cache.delete(key);
        const { status, message } = apiError(error);
        if (status === 500)
          log({
            level: 'ERROR',
            message: 'UI API request failed',
            path: url.pathname,
            error: String((error as Error)?.stack ?? error),
          });
        res
          .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS })
          .end(JSON.stringify({ error: message }));
      }
      return;
    }
    const html = (status: number, body: string) =>
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS }).end(body);
    const known = (name: string) => options.jobs().some((j) => j.name === name);
    if (parts.length === 0) return void html(200, renderShell('overview', 'Streaming jobs', {}, refreshMs));
    if (parts[0] === 'dead-letters' && parts.length === 1)
      return void html(
        200,
        renderShell('dead-letters', 'Dead letters', { reasons: DEAD_LETTER_REASONS.join(',') }, refreshMs),
      );
    if (parts[0] === 'jobs' && parts.length === 2 && known(parts[1]!))
      return void html(200, renderShell('job', parts[1]!, { job: parts[1]! }, refreshMs));
    if (parts[0] === 'jobs' && parts.length === 5 && parts[2] === 'batches' && known(parts[1]!)) {
      // An unknown batch, or a start time no link gives, is a 404 or 400 page, as an unknown job is a 404. A
      // store that does not answer still gets the page: its script says so, and loads it once the store is back.
      // The ledger is read here and again by the page's script: one more query per page load, and a store that
      // does not answer holds the page for the driver's timeout before serving it.
      const refused = await options.views.findBatch(parts[1]!, parts[3]!, parts[4]!).then(
        () => undefined,
        (error: unknown) => {
          const answer = apiError(error);
          return answer.status === 400 || answer.status === 404 ? answer : undefined;
        },
      );
      if (refused)
        return void html(
          refused.status,
          renderShell(
            'overview',
            refused.status === 400 ? 'Bad request' : 'Not found',
            { notFound: url.pathname, problem: refused.message, job: parts[1]! },
            refreshMs,
          ),
        );
      return void html(
        200,
        renderShell(
          'batch',
          `Batch ${parts[4]!.slice(0, 8)} of ${parts[1]!}`,
          { job: parts[1]!, startedAt: parts[3]!, batchId: parts[4]! },
          refreshMs,
        ),
      );
    }
    html(404, renderShell('overview', 'Not found', { notFound: url.pathname }, refreshMs));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // As an API request's 500: the stack goes to the log, and the answer names no file or internals.
      log({
        level: 'ERROR',
        message: 'UI request failed',
        path: new URL(req.url ?? '/', 'http://localhost').pathname,
        error: String((error as Error)?.stack ?? error),
      });
      const { status, message } = apiError(error);
      if (!res.headersSent)
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      res.end(message);
    });
  });
  // A request Node's parser refuses never reaches `handle`: Node's own answer to a URL over its 16 KB is an
  // empty 431, which says nothing of the parameter that made it so.
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    // As Node's own handler: nothing to answer on a socket gone, or one a response is already going out on.
    if (!socket.writable || error.code === 'ECONNRESET' || (socket as Socket).bytesWritten > 0)
      return void socket.destroy();
    const { status, message } = refusedRequest(error.code, error.rawPacket);
    const body = Buffer.from(message);
    const headers = {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(body.length),
      connection: 'close',
      ...SECURITY_HEADERS,
    };
    socket.end(
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
            Object.entries(headers)
              .map(([k, v]) => `${k}: ${v}\r\n`)
              .join('') +
            '\r\n',
        ),
        body,
      ]),
    );
  });
  return server;
}

/** The answer to a request Node's HTTP parser refused: too long a URL names its longest parameter. */
export function refusedRequest(
  code: string | undefined,
  raw: Buffer | undefined,
): {
  status: number;
  message: string;
} {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, message: 'The request did not arrive in time.' };
  if (code !== 'HPE_HEADER_OVERFLOW')
    return { status: 400, message: `The request is not valid HTTP/1.1 (${code ?? 'unknown error'}).` };
  // The parser hands over what it had read: a request line without its end was cut, its last length a minimum.
  const line = /^[A-Z]+ ([^ \r\n]*)( HTTP\/)?/.exec(raw?.subarray(0, 65_536).toString('latin1') ?? '');
  const target = line?.[1] ?? '';
  const query = target.includes('?') ? target.slice(target.indexOf('?') + 1) : '';
  const longest = query
    .split('&')
    .map((p) => ({ name: p.split('=')[0]!, length: p.length - p.split('=')[0]!.length - 1 }))
    .reduce<{ name: string; length: number } | undefined>(
      (a, p) => (a && a.length >= p.length ? a : p),
      undefined,
    );
  const over = "The request's URL and headers are over the 16 KB this server reads";
  if (!longest || longest.length < 1024) return { status: 431, message: `${over}: shorten them.` };
  const name = longest.name.length > 40 ? `${longest.name.slice(0, 40)}…` : longest.name;
  return {
    status: 431,
    message:
      `${over}: parameter '${name}' alone has ${line?.[2] ? '' : 'over '}${longest.length.toLocaleString('en')} characters. ` +
      'No parameter of this API needs that many: shorten it.',
  };
}

/** The UI cannot listen where it was told (--host, --port): the message names the address and the fix. */
export class ListenError extends Error {
  override readonly name: string = 'ListenError';
}

/** The UI's port is taken: the message says by what, likely, and how to pick another. */
export class PortInUseError extends ListenError {
  override readonly name = 'PortInUseError';
}

/** What to change when listening fails for another reason than a port in use. */
const HOST_FIX = 'give --host an address of this machine (127.0.0.1, or 0.0.0.0 for every interface)';
const LISTEN_FIXES: Record<string, string> = {
  EADDRNOTAVAIL: HOST_FIX,
  ENOTFOUND: HOST_FIX,
  EAI_AGAIN: HOST_FIX,
  EACCES: 'ports below 1024 need privileges: give --port one above 1023, such as 4040',
};

export function listen(server: Server, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new PortInUseError(
              `Port ${port} on ${host} is already in use (another \`microbatch ui\` or \`npm run local\`?): ` +
                'stop it, or give this one another with --port.',
              { cause: error },
            )
          : error.code && LISTEN_FIXES[error.code]
            ? new ListenError(
                `Cannot listen on ${host}:${port}: ${error.message}; ${LISTEN_FIXES[error.code]}.`,
                {
                  cause: error,
                },
              )
            : error,
      ),
    );
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
