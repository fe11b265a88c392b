/**
 * A TCP proxy between a client and a service, for the integration tests of connection failures: `drop()` resets
 * every open connection, as a node restart or a broken network path would, and `down(ms)` also resets every
 * connection made in the next `ms`, as a node that is down would.
 */
import net from 'node:net';
import { onTestFinished } from 'vitest';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: () => number;
  drop(): void;
  down(ms: number): void;
}

export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let accepted = 0;
  let downUntil = 0;
  const server = net.createServer((client) => {
    accepted++;
    if (Date.now() < downUntil) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    open.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const drop = () => {
    for (const s of open) s.resetAndDestroy();
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const s of open) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    drop,
    down: (ms) => {
      downUntil = Date.now() + ms;
      drop();
    },
  };
}
