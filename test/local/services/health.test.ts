import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkCassandra,
  checkKafka,
  TimeoutError,
  waitUntilHealthy,
  withTimeout,
} from '../../../local/services/health';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Accepts connections and never answers: the worst case for a health check. */
const held = new Set<net.Socket>();
const blackHole = net.createServer((socket) => {
  held.add(socket);
  socket.on('close', () => held.delete(socket));
});
let blackHolePort = 0;
beforeAll(async () => {
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
  blackHolePort = (blackHole.address() as net.AddressInfo).port;
});
afterAll(async () => {
  // The clients half-close their side; a silent server keeps its side open until told.
  for (const s of held) s.destroy();
  await new Promise<void>((r) => blackHole.close(() => r()));
});

describe('checkKafka', () => {
  it('fails fast when nothing listens', async () => {
    const port = await closedPort();
    const t0 = Date.now();
    await expect(checkKafka([`127.0.0.1:${port}`], 3000)).rejects.toThrow(/ECONNREFUSED|Connection error/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('gives up at its time limit when the server never answers', async () => {
    const t0 = Date.now();
    await expect(checkKafka([`127.0.0.1:${blackHolePort}`], 1500)).rejects.toThrow();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(4000);
  });
});

describe('checkCassandra', () => {
  it('fails fast when nothing listens, naming the host', async () => {
    const port = await closedPort();
    const t0 = Date.now();
    await expect(checkCassandra([`127.0.0.1:${port}`], 'datacenter1', 3000)).rejects.toThrow(/host/i);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('gives up at its time limit when the server never answers', async () => {
    const t0 = Date.now();
    await expect(checkCassandra([`127.0.0.1:${blackHolePort}`], 'datacenter1', 1500)).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(4000);
  });
});

describe('withTimeout', () => {
  it('passes a fast result through', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, 'x')).resolves.toBe(7);
  });

  it('rejects with TimeoutError naming the operation', async () => {
    const never = new Promise<never>(() => undefined);
    await expect(withTimeout(never, 50, 'the metadata request')).rejects.toThrow(
      new TimeoutError('the metadata request took longer than 50 ms'),
    );
  });
});

describe('waitUntilHealthy', () => {
  it('retries until the check passes', async () => {
    let calls = 0;
    const result = await waitUntilHealthy(
      async () => {
        calls++;
        if (calls < 3) throw new Error(`not yet ${calls}`);
        return 'ok';
      },
      { timeoutMs: 5000, intervalMs: 10 },
      () => new Error('timeout'),
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('hands the last error to onTimeout when time runs out', async () => {
    let calls = 0;
    const err = await waitUntilHealthy(
      async () => {
        calls++;
        throw new Error(`attempt ${calls}`);
      },
      { timeoutMs: 300, intervalMs: 50 },
      (last) => new Error(`gave up after: ${(last as Error).message}`),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`gave up after: attempt ${calls}`);
    expect(calls).toBeGreaterThan(1);
  });

  it('stops at once when abortCheck throws (e.g. the process died)', async () => {
    await expect(
      waitUntilHealthy(
        () => Promise.reject(new Error('down')),
        {
          timeoutMs: 10_000,
          intervalMs: 10,
          abortCheck: () => {
            throw new Error('process exited');
          },
        },
        () => new Error('timeout'),
      ),
    ).rejects.toThrow('process exited');
  });
});
