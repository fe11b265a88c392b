import * as net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ServicesSettingError,
  down,
  HealthTimeoutError,
  reset,
  status,
  UnsupportedOperationError,
  up,
  UpFailedError,
} from '../../../local/services';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('managed modes refuse endpoints they do not serve', () => {
  it.each(['native', 'compose'] as const)(
    '%s: KAFKA_BROKERS pointing elsewhere is a ServicesSettingError with the fix',
    async (mode) => {
      vi.stubEnv('KAFKA_BROKERS', 'kafka.example:9092');
      const err = await up({ mode }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServicesSettingError);
      expect((err as Error).message).toContain('KAFKA_BROKERS=kafka.example:9092 is set');
      expect((err as Error).message).toContain('MICROBATCH_SERVICES=external');
    },
  );
});

describe('external mode', () => {
  it('only checks health, and reports each unreachable service with its endpoint', async () => {
    const [kp, cp] = [await closedPort(), await closedPort()];
    vi.stubEnv('KAFKA_BROKERS', `127.0.0.1:${kp}`);
    vi.stubEnv('CASSANDRA_CONTACT_POINTS', `127.0.0.1:${cp}`);
    const t0 = Date.now();
    const err = await up({ mode: 'external', timeoutMs: { kafka: 1200, cassandra: 1200 } }).catch(
      (e: unknown) => e,
    );
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(err).toBeInstanceOf(UpFailedError);
    const failures = (err as UpFailedError).failures;
    expect(failures.map((f) => f.constructor)).toEqual([HealthTimeoutError, HealthTimeoutError]);
    expect(failures.map((f) => (f as HealthTimeoutError).endpoint)).toEqual([
      `127.0.0.1:${kp}`,
      `127.0.0.1:${cp}`,
    ]);
    expect((err as UpFailedError).started).toEqual([]);
  });

  it('status reports unreachable services as neither running nor healthy', async () => {
    const [kp, cp] = [await closedPort(), await closedPort()];
    vi.stubEnv('KAFKA_BROKERS', `127.0.0.1:${kp}`);
    vi.stubEnv('CASSANDRA_CONTACT_POINTS', `127.0.0.1:${cp}`);
    const rows = await status({ mode: 'external' });
    expect(rows.map((r) => [r.service, r.mode, r.running, r.healthy, r.endpoint])).toEqual([
      ['kafka', 'external', false, false, `127.0.0.1:${kp}`],
      ['cassandra', 'external', false, false, `127.0.0.1:${cp}`],
    ]);
    expect(rows[0]?.detail).toMatch(/ECONNREFUSED|Connection error/);
  });

  it('down stops nothing, and reset refuses to wipe data it does not own', async () => {
    await expect(down({ mode: 'external' })).resolves.toEqual({ stopped: [], notRunning: [] });
    await expect(reset({ mode: 'external' })).rejects.toThrow(UnsupportedOperationError);
  });
});
