import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  API_INDEX,
  apiError,
  createUiServer,
  isLoopback,
  listen,
  ListenError,
  PortInUseError,
  refusedRequest,
  renderShell,
} from '../../../local/ui/server';
import { errors } from '../../../lambda/runtime/cassandra-driver';
import { DEAD_LETTER_REASONS } from '../../../lambda/runtime/errors';
import { BadRequest, NotFound, type Views } from '../../../local/ui/views';
import type { UiJob } from '../../../local/ui/jobs';

const job: UiJob = {
  name: 'sent-received',
  kind: 'transform',
  doc: '',
  topics: ['test'],
  consumerGroupId: 'g',
  batchingWindowSeconds: 5,
  partitionsPerTopic: { test: 3 },
};

/** The views the routes call; each answers what its route needs to show. */
const views = {
  overview: async () => ({ jobs: [] }),
  series: async (_job: string, range: string) => {
    throw new BadRequest(`range must be one of 5m, 1h, 24h; received '${range}'.`);
  },
  batch: async () => {
    throw new NotFound('No batch b-1.');
  },
  // The ledger as the batch page's route sees it: b-ok is there; b-down finds the store not answering.
  findBatch: async (_job: string, startedAt: string, batchId: string) => {
    if (!startedAt.startsWith('2026-')) throw new BadRequest(`not ISO-8601: '${startedAt}'`);
    if (batchId === 'b-down') throw new errors.NoHostAvailableError({});
    if (batchId !== 'b-ok') throw new NotFound(`No batch ${batchId}.`);
    return { job, batch: {} };
  },
  job: () => job,
} as unknown as Views;

let server: Server | undefined;
afterEach(async () => {
  const closing = server;
  server = undefined;
  if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
});

async function get(path: string, host?: string) {
  server ??= await listen(createUiServer({ views, jobs: () => [job], loopbackOnly: true }), 0, '127.0.0.1');
  const port = (server.address() as { port: number }).port;
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request({ port, path, headers: { host: host ?? `localhost:${port}` } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('the UI server', () => {
  it('serves the pages with a policy that runs only its own scripts', async () => {
    const res = await get('/jobs/sent-received');
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.body).toContain('data-page="job"');
    expect(res.body).toContain('<script src="/static/uPlot.iife.min.js"></script>');
  });

  it("gives the dead-letters page the reasons a dead letter can have, for its form's choices", async () => {
    const res = await get('/dead-letters');
    expect(res.status).toBe(200);
    expect(res.body).toContain(`data-reasons="${DEAD_LETTER_REASONS.join(',')}"`);
  });

  it('serves uPlot from node_modules, so the page works offline', async () => {
    const res = await get('/static/uPlot.iife.min.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.body).toContain('uPlot');
  });

  it('answers a bad parameter with 400 and an unknown batch with 404, as JSON with the reason', async () => {
    const bad = await get('/api/jobs/sent-received/series?range=2h');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ error: "range must be one of 5m, 1h, 24h; received '2h'." });
    const missing = await get('/api/jobs/sent-received/batches/2026-05-21T00:00:00Z/b-1');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: 'No batch b-1.' });
    expect((await get('/api/nothing')).status).toBe(404);
  });

  it('GIVEN a batch the ledger does not have, or a start time no link gives THEN the page is a 404 or 400, not a shell that fails later', async () => {
    const page = (batchId: string, startedAt = '2026-05-21T00:00:00Z') =>
      get(`/jobs/sent-received/batches/${startedAt}/${batchId}`);
    const found = await page('b-ok');
    expect(found.status).toBe(200);
    expect(found.body).toContain('data-page="batch"');
    const missing = await page('b-1');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('data-not-found="/jobs/sent-received/batches/2026-05-21T00:00:00Z/b-1"');
    // The page names the problem, as the API does, and the job it links back to.
    expect(missing.body).toContain('data-problem="No batch b-1."');
    expect(missing.body).toContain('data-job="sent-received"');
    const bad = await page('b-ok', '1');
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('<title>Bad request · microbatch</title>');
    expect(bad.body).toContain('data-problem="not ISO-8601: &#39;1&#39;"');
    // The store not answering is not a missing batch: the page is served, and its script says what failed.
    const down = await page('b-down');
    expect(down.status).toBe(200);
    expect(down.body).toContain('data-page="batch"');
  });

  it('refuses requests addressed to another name while it listens on loopback (DNS rebinding)', async () => {
    const res = await get('/api/jobs', 'attacker.example:4040');
    expect(res.status).toBe(403);
    expect(res.body).toContain("not 'attacker.example'");
  });

  it('GIVEN a refused request (another name, a method, a bad path) THEN its answer carries the same headers as every page', async () => {
    const port = () => (server!.address() as { port: number }).port;
    await get('/');
    const method = await new Promise<Record<string, unknown>>((resolve, reject) =>
      request({ port: port(), path: '/api/jobs', method: 'POST', headers: { host: 'localhost' } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode, ...res.headers });
      })
        .on('error', reject)
        .end(),
    );
    expect(method.status).toBe(405);
    // The 403 names the Host the request gave: text, never sniffed as a page, whatever that name holds.
    for (const headers of [
      (await get('/api/jobs', '<svg onload=alert(1)>')).headers,
      (await get('/%ZZ')).headers,
      method,
    ]) {
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headers['content-security-policy']).toContain("default-src 'self'");
      expect(headers['content-type']).toBe('text/plain; charset=utf-8');
    }
  });
});

describe('isLoopback (whether a bind keeps the Host check, and which Host names it answers)', () => {
  it.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '[::1]'])(
    'GIVEN %s THEN loopback',
    (host) => expect(isLoopback(host)).toBe(true),
  );
  it.each(['0:0:0:0:0:0:0:1', '[0:0:0:0:0:0:0:1]', '::ffff:127.0.0.1', '[::ffff:7f00:2]'])(
    'GIVEN %s, another spelling of a loopback address THEN loopback',
    (host) => expect(isLoopback(host)).toBe(true),
  );
  it.each([
    '0.0.0.0',
    '::',
    '10.0.0.1',
    '128.0.0.1',
    '::2',
    '::ffff:10.0.0.1',
    'attacker.example',
    '127.0.0.1.attacker.example',
    'localhost.attacker.example',
    '',
  ])('GIVEN %s THEN not loopback', (host) => expect(isLoopback(host)).toBe(false));
});

describe('a request over the 16 KB of URL and headers Node parses', () => {
  it('THEN answers 431 naming the parameter that made it too long, not an empty 431', async () => {
    await get('/');
    const port = (server!.address() as { port: number }).port;
    const res = await fetch(`http://127.0.0.1:${port}/api/dead-letters?limit=5&reason=${'x'.repeat(20_000)}`);
    expect(res.status).toBe(431);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe(
      "The request's URL and headers are over the 16 KB this server reads: parameter 'reason' alone has " +
        '20,000 characters. No parameter of this API needs that many: shorten it.',
    );
  });
});

describe('the API answer cache', () => {
  it('GIVEN the last request for a while (the last tab closed) THEN lets go of its answers after cacheMs, and keeps no timer alive', async () => {
    // GIVEN an answer the test can watch being collected (the GC exposed at run time, not by a node flag)
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let answer: WeakRef<object> | undefined;
    const watched = {
      ...views,
      overview: async () => {
        const body = { jobs: [{ payload: 'x'.repeat(1_000_000) }] };
        answer = new WeakRef(body);
        return body;
      },
    } as unknown as Views;
    const cached = await listen(
      createUiServer({ views: watched, jobs: () => [job], cacheMs: 50 }),
      0,
      '127.0.0.1',
    );
    onTestFinished(() => new Promise<void>((resolve) => cached.close(() => resolve())));
    // The timers the cache arms (those of cacheMs): each must be unref'd, so that an expiry to come does not
    // keep `microbatch ui` running once its server is closed.
    const armed: NodeJS.Timeout[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((f: () => void, ms?: number) => {
      const timer = realSetTimeout(f, ms);
      if (ms === 50) armed.push(timer);
      return timer;
    }) as typeof setTimeout);
    onTestFinished(() => spy.mockRestore());

    // WHEN one request, and none after it
    const res = await fetch(`http://127.0.0.1:${(cached.address() as { port: number }).port}/api/jobs`, {
      headers: { connection: 'close' },
    });
    expect(res.status).toBe(200);
    await res.text();

    const armedRefs = armed.map((t) => t.hasRef());
    // The spy's calls, and a timer even once fired, keep its callback, and so the cache entry: let go of both.
    spy.mockReset();
    spy.mockRestore();
    armed.length = 0;

    // THEN, once cacheMs has passed, the answer is garbage. Polled, not after a fixed sleep: on two busy cores the
    // 50 ms expiry may fire well after 200 ms; a cache that keeps the answer fails here after 3 s all the same.
    // (No expect() inside the loop: a failed assertion's error would hold the answer it names.)
    expect(answer).toBeDefined();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    let held = true;
    for (const deadline = Date.now() + 3000; held && Date.now() < deadline;) {
      await sleep(50);
      gc();
      await sleep(0);
      gc();
      held = answer!.deref() !== undefined;
    }
    expect(held, 'the cached answer is still held').toBe(false);
    // THEN what let go of it holds no process open
    expect(armedRefs).toEqual([false]);
  });
});

describe('a page whose route fails', () => {
  it('THEN answers 500 naming no internals, and logs the error with its stack, as the API does', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const failing = await listen(
      createUiServer({
        views,
        jobs: () => {
          throw new Error('ENOENT: /home/someone/project/lambda/jobs/secret.ts');
        },
        log: (line) => lines.push(line),
      }),
      0,
      '127.0.0.1',
    );
    onTestFinished(() => new Promise<void>((resolve) => failing.close(() => resolve())));
    const port = (failing.address() as { port: number }).port;
    const res = await new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
      (resolve, reject) =>
        request({ port, path: '/jobs/sent-received' }, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body, headers: r.headers }));
        })
          .on('error', reject)
          .end(),
    );
    expect(res.status).toBe(500);
    expect(res.body).not.toContain('secret');
    expect(res.body).toBe('The UI failed on this request; its log has the error.');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        path: '/jobs/sent-received',
        error: expect.stringContaining('secret.ts') as unknown,
      }),
    ]);
  });
});

describe('API_INDEX', () => {
  it('lists the endpoints and parameters the README documents, in its order', () => {
    // The README's table of the JSON API, one row per endpoint (its own `/api` row aside); its `\|` is a `|`.
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const documented = [...readme.matchAll(/^\| `(\/api[^`]*)`/gm)]
      .map((m) => m[1]!.replace(/\\\|/g, '|'))
      .filter((path) => path !== '/api');
    // `/api` ends a cursor with `...` where the README leaves it empty (both mean "the first page").
    expect(API_INDEX.map((e) => e.path.replace(/\.\.\.$/, ''))).toEqual(documented);
  });
});

describe('renderShell', () => {
  it('escapes what it puts in the page', () => {
    const html = renderShell('job', '<img src=x>', { job: '"><script>' });
    expect(html).toContain('<title>&#60;img src=x&#62; · microbatch</title>');
    expect(html).toContain('data-job="&#34;&#62;&#60;script&#62;"');
    expect(html).not.toContain('<img src=x>');
  });
});

describe('apiError', () => {
  it('GIVEN the driver failing THEN 503, naming the store; GIVEN a fault of the UI THEN 500, naming no internals', () => {
    expect(apiError(new errors.NoHostAvailableError({}))).toEqual({
      status: 503,
      message: 'The data store did not answer: All host(s) tried for query failed.',
    });
    expect(apiError(new RangeError('The value of "length" is out of range.'))).toEqual({
      status: 500,
      message: 'The UI failed on this request; its log has the error.',
    });
    expect(apiError(new BadRequest('limit must be an integer'))).toEqual({
      status: 400,
      message: 'limit must be an integer',
    });
    expect(apiError(new NotFound('No job x.'))).toEqual({ status: 404, message: 'No job x.' });
  });
});

describe('listen', () => {
  it('GIVEN a port another server holds THEN fails saying so and how to pick another, not with EADDRINUSE', async () => {
    // GIVEN
    const first = await listen(
      createUiServer({ views, jobs: () => [job], loopbackOnly: true }),
      0,
      '127.0.0.1',
    );
    onTestFinished(() => new Promise<void>((resolve) => first.close(() => resolve())));
    const port = (first.address() as { port: number }).port;

    // WHEN
    const second = listen(
      createUiServer({ views, jobs: () => [job], loopbackOnly: true }),
      port,
      '127.0.0.1',
    );

    // THEN
    await expect(second).rejects.toThrow(PortInUseError);
    await expect(second).rejects.toThrow(
      `Port ${port} on 127.0.0.1 is already in use (another \`microbatch ui\` or \`npm run local\`?): stop it, or give this one another with --port.`,
    );
  });
  it('GIVEN a --host that is no address of this machine THEN fails naming it and the fix, not with a stack of EADDRNOTAVAIL', async () => {
    // WHEN (192.0.2.1: TEST-NET-1, documentation only, on no interface)
    const listening = listen(createUiServer({ views, jobs: () => [job] }), 0, '192.0.2.1');

    // THEN
    await expect(listening).rejects.toThrow(ListenError);
    await expect(listening).rejects.toThrow(
      /^Cannot listen on 192\.0\.2\.1:0: .*EADDRNOTAVAIL.* give --host an address of this machine/,
    );
  });
});

describe('refusedRequest', () => {
  it('GIVEN what the parser had read of a cut request line THEN the length is a minimum; GIVEN no long parameter THEN names none', () => {
    const cut = Buffer.from(`GET /api/dead-letters?topic=${'t'.repeat(70_000)}`.slice(0, 65_536), 'latin1');
    expect(refusedRequest('HPE_HEADER_OVERFLOW', cut).message).toContain(
      "parameter 'topic' alone has over 65,508 characters",
    );
    const headers = Buffer.from(`GET /api/jobs HTTP/1.1\r\ncookie: ${'c'.repeat(20_000)}`, 'latin1');
    expect(refusedRequest('HPE_HEADER_OVERFLOW', headers)).toEqual({
      status: 431,
      message: "The request's URL and headers are over the 16 KB this server reads: shorten them.",
    });
    expect(refusedRequest('HPE_INVALID_METHOD', undefined).status).toBe(400);
  });
});
