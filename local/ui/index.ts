/**
 * The streaming UI: the sampler and the HTTP server, over one Cassandra/Keyspaces client and one Kafka admin.
 * `npm run local` starts it on :4040 next to the runners; `microbatch ui` starts it alone (see command.ts).
 */
import type { Server } from 'node:http';
import type { Client } from 'cassandra-driver';
import type { Admin, Kafka } from 'kafkajs';
import { UiData } from './data';
import type { UiJob } from './jobs';
import { Sampler } from './sampler';
import { createUiServer, isLoopback, listen } from './server';
import { Views } from './views';

export interface UiOptions {
  readonly client: Client;
  readonly keyspace: string;
  /** The Kafka the jobs read, for the consumer lag. @default - no lag shown, and the page says why */
  readonly kafka?: Kafka;
  /** The jobs to show; asked again on every request, so a job added to the source appears by itself. */
  readonly jobs: () => readonly UiJob[];
  /** @default 4040, Spark's UI port */
  readonly port?: number;
  /** Only this machine by default: the UI shows payloads and has no login. @default '127.0.0.1' */
  readonly host?: string;
  /** How often the pages poll the API. @default 5000 */
  readonly refreshMs?: number;
  /** Recompute the last 24 hours of minute rollups at start. @default true */
  readonly backfill?: boolean;
  /** @default - JSON lines on stderr */
  readonly log?: (line: Record<string, unknown>) => void;
}

export interface RunningUi {
  readonly server: Server;
  readonly sampler: Sampler;
  readonly url: string;
  close(): Promise<void>;
}

/** A kafkajs admin that connects on first use and again after a failure, so Kafka may come and go. */
function lazyAdmin(kafka: Kafka): Pick<Admin, 'fetchTopicOffsets' | 'fetchOffsets' | 'describeGroups'> & {
  disconnect(): Promise<void>;
} {
  let admin: Admin | undefined;
  let connecting: Promise<Admin> | undefined;
  const get = () =>
    (connecting ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      admin = a;
      return a;
    })().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    }));
  return {
    fetchTopicOffsets: async (topic) => (await get()).fetchTopicOffsets(topic),
    fetchOffsets: async (args) => (await get()).fetchOffsets(args),
    describeGroups: async (groups) => (await get()).describeGroups(groups),
    disconnect: async () => admin?.disconnect(),
  };
}

export async function startUi(options: UiOptions): Promise<RunningUi> {
  const data = new UiData(options.client, options.keyspace);
  const admin = options.kafka ? lazyAdmin(options.kafka) : null;
  const sampler = new Sampler({
    data,
    jobs: options.jobs,
    admin,
    log: options.log,
    backfill: options.backfill,
  });
  const views = new Views(data, sampler, options.jobs);
  const host = options.host ?? '127.0.0.1';
  const server = createUiServer({
    views,
    jobs: options.jobs,
    refreshMs: options.refreshMs,
    // Every loopback bind keeps the Host check, not only 127.0.0.1's: a DNS name rebound to 127.0.0.2 or ::1
    // reaches the UI as well.
    loopbackOnly: isLoopback(host),
    log: options.log,
  });
  await listen(server, options.port ?? 4040, host);
  sampler.start();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 4040);
  return {
    server,
    sampler,
    // Every interface is reached at localhost; an IPv6 address goes in brackets in a URL (RFC 3986).
    url: `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await sampler.stop();
      await admin?.disconnect();
    },
  };
}
