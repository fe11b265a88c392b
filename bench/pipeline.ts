/**
 * The pipeline under test, wired exactly as `openLocalRuntime` (local/app.ts) wires it: the event-source
 * runner builds the MSK event, `runMicroBatch` runs the sent-received job through the exactly-once protocol on
 * the real Cassandra stores. Three things are added, none on the pipeline's path:
 * - the Cassandra client is wrapped so that the moment Cassandra acknowledges each `sent_received` row (alone or
 *   in an unlogged batch) is recorded, together with the row's `time_sent` (the producer's send time): that pair
 *   is the latency from send to row written;
 * - the runner's observer says when each partition's records arrived from Kafka, and the handler's invocation is
 *   when their batch closed: the time between is what the record waited for its batch (the batching window's
 *   share of its latency), and latency minus that wait is its processing delay;
 * - each batch's completion (effects written and checkpoint moved) is recorded from the handler's return.
 */
import type { MSKEvent } from 'aws-lambda';
import type { Client } from 'cassandra-driver';
import type { EventSourceConfig } from '../config';
import { createCassandraClient } from '../lambda/runtime/cassandra-client';
import { CassandraCheckpointStore, CassandraSinkStore } from '../lambda/runtime/cassandra-store';
import { parseMskEvent } from '../lambda/runtime/event';
import { runMicroBatch, type BatchReport } from '../lambda/runtime/batch';
import { createSentReceivedJob } from '../lambda/jobs/sent-received';
import { renderInsert, SENT_RECEIVED, qualified } from '../schema';
import { checkpointedOffset } from './fixtures';
import type { Endpoints } from '../local/services';
import { EventSourceRunner, type RunnerOptions } from '../local/runner';

/** The event-source runner class: the project's, or an alternative one to measure a change (`--runner`). */
export type RunnerClass = new (options: RunnerOptions) => Pick<EventSourceRunner, 'start' | 'stop' | 'stats'>;

export async function loadRunner(modulePath: string | undefined): Promise<RunnerClass> {
  if (!modulePath) return EventSourceRunner;
  const mod = (await import(modulePath)) as { EventSourceRunner?: unknown };
  if (typeof mod.EventSourceRunner !== 'function')
    throw new Error(`${modulePath} does not export an EventSourceRunner class.`);
  return mod.EventSourceRunner as RunnerClass;
}

/** Epoch ms (with the microseconds as a fraction) of a load-mode send time `YYYY-MM-DDTHH:MM:SS.mmmuuuZ`. */
export function sendTimeMs(timeSent: string): number {
  const ms = Date.parse(`${timeSent.slice(0, 23)}Z`);
  const micros = timeSent.length >= 27 ? Number(timeSent.slice(23, 26)) : 0;
  return ms + micros / 1000;
}

export interface BatchSample {
  readonly doneAt: number;
  readonly records: number;
  readonly written: number;
  readonly durationMs: number;
  readonly partitions: number;
  /** The handler's phases (the slowest partition's, see `BatchReport.phases`): checkpoint read and claim... */
  readonly readClaimMs: number;
  /** ...decoding and transforming... */
  readonly transformMs: number;
  /** ...writing the rows... */
  readonly effectsMs: number;
  /** ...moving the checkpoint... */
  readonly commitMs: number;
  /** ...and the rest of the invocation: event parsing, the ledger row. */
  readonly otherMs: number;
}

/** Count and mean latency of the statements of one kind. */
export interface StatementStats {
  count: number;
  totalMs: number;
  /** Rows the statements carried (an unlogged batch carries many). */
  rows: number;
}

/** The kind of a statement the pipeline sends, from its text. */
function statementKind(query: string, rowInsert: string): string {
  if (query === rowInsert) return 'row INSERT';
  if (query.includes('offset_checkpoints')) {
    if (query.startsWith('SELECT')) return 'checkpoint read (SERIAL)';
    if (query.includes('IF NOT EXISTS')) return 'checkpoint create (LWT)';
    return 'checkpoint CAS (LWT)';
  }
  if (query.includes('batch_ledger')) return 'ledger INSERT';
  return 'other';
}

export interface PipelineOptions {
  readonly endpoints: Endpoints;
  readonly keyspace: string;
  readonly topic: string;
  readonly source: EventSourceConfig;
  readonly onFailureDir: string;
  /** @default - the sink's default */
  readonly writeConcurrency?: number;
  /** @default - the sink's default */
  readonly batchStatements?: number;
  /** @default - the runner's default */
  readonly pollers?: number;
  readonly Runner: RunnerClass;
  /**
   * Record, per record, when its batch completed and how long it waited for its batch (costs a decode per record
   * in the bench's wrapper around the handler).
   */
  readonly trackDelays?: boolean;
  /** An empty handler instead of the job: the runner alone (nothing is written). */
  readonly emptyHandler?: boolean;
  /** The job's name, which keys its checkpoints: a new name processes the topic again. @default 'sent-received' */
  readonly jobName?: string;
}

export class PipelineUnderTest {
  /**
   * Per acknowledged write request of `sent_received` rows: when (epoch ms) and how many rows. Kept per request,
   * not per row, so that the instrumentation costs the consumer next to nothing in the throughput phases.
   */
  readonly acks: Array<{ readonly at: number; readonly rows: number }> = [];
  /** Rows acknowledged so far. */
  acked = 0;
  /** Per written row (with `trackDelays` only): when Cassandra acknowledged it (epoch ms), and when it was sent. */
  readonly ackAt: number[] = [];
  readonly sentAt: number[] = [];
  /** Per written row (with `trackDelays`): its latency minus the time it waited for its batch to close. */
  readonly processingDelay: Array<{ t: number; v: number }> = [];
  /** Per written row (with `trackDelays`): from its send to its arrival from Kafka, the delay's part before the runner. */
  readonly fetchDelay: Array<{ t: number; v: number }> = [];
  /** The job's name: it keys the checkpoints the pipeline writes and `verify` reads. */
  private get jobName(): string {
    return this.options.jobName ?? 'sent-received';
  }
  /** Per record, when its batch completed (only with `trackDelays`). */
  readonly commitLatency: Array<{ t: number; v: number }> = [];
  readonly batches: BatchSample[] = [];
  readonly warnings: string[] = [];
  readonly statements: Record<string, StatementStats> = {};
  /** Requests in flight to Cassandra: the most at once, and the time-weighted mean while any was. */
  readonly inFlight = { max: 0, weightedMs: 0, busyMs: 0 };
  records = 0;
  written = 0;
  startedAt = 0;
  private runner: InstanceType<RunnerClass> | undefined;
  private client: Client | undefined;
  /** Per "<partition>": the fetches' last offsets and arrival times, in offset order. */
  private readonly arrivals = new Map<number, Array<{ last: bigint; at: number }>>();
  /** Per send time: when the record arrived from Kafka and when its batch closed (until its row is acknowledged). */
  private readonly waited = new Map<string, { arrived: number; closedAt: number }>();
  private current = 0;
  private lastChange = 0;

  constructor(private readonly options: PipelineOptions) {}

  /** Connects and starts the runner; resolves once its consumer has joined the group (fetching starts). */
  async start(): Promise<void> {
    const { endpoints, keyspace, topic, source } = this.options;
    const log = (line: Record<string, unknown>): void => {
      if (line.level === 'WARN' || line.level === 'ERROR') {
        if (this.warnings.length < 20)
          this.warnings.push(`${String(line.message)}: ${String(line.error ?? '')}`);
      }
    };
    let invoke: (event: MSKEvent) => Promise<unknown>;
    if (this.options.emptyHandler) {
      invoke = async (event) => {
        let n = 0;
        for (const records of Object.values(event.records)) n += records.length;
        this.records += n;
        this.batches.push({
          doneAt: Date.now(),
          records: n,
          written: 0,
          durationMs: 0,
          partitions: Object.keys(event.records).length,
          readClaimMs: 0,
          transformMs: 0,
          effectsMs: 0,
          commitMs: 0,
          otherMs: 0,
        });
      };
    } else {
      const client = await createCassandraClient(
        {
          kind: 'local',
          contactPoints: endpoints.cassandraContactPoints,
          localDataCenter: endpoints.cassandraLocalDataCenter,
        },
        // The bench measures the code as Lambda runs it, with no strict checks in front of the driver (the
        // integration tests check the same statements in the Keyspaces-strict mode), and counts the table with a full scan.
        { keyspacesStrict: false },
      );
      this.client = client;
      const observed = this.observed(client);
      const checkpoints = new CassandraCheckpointStore(observed, keyspace);
      const sink = new CassandraSinkStore(observed, keyspace, {
        ...(this.options.writeConcurrency ? { writeConcurrency: this.options.writeConcurrency } : {}),
        ...(this.options.batchStatements ? { batchStatements: this.options.batchStatements } : {}),
      });
      const job = createSentReceivedJob(
        { timeFormat: 'iso', failOnDataLoss: false },
        { topics: [topic], name: this.jobName },
      );
      invoke = async (event) => {
        const closedAt = Date.now();
        if (this.options.trackDelays) this.noteWaits(event, closedAt);
        const report: BatchReport = await runMicroBatch(job, parseMskEvent(event), {
          checkpoints,
          sink,
          log,
        });
        const doneAt = Date.now();
        this.records += report.recordsIn;
        this.written += report.written;
        const { readClaimMs, transformMs, effectsMs, commitMs } = report.phases;
        this.batches.push({
          doneAt,
          records: report.recordsIn,
          written: report.written,
          durationMs: report.durationMs,
          partitions: report.partitions.length,
          readClaimMs,
          transformMs,
          effectsMs,
          commitMs,
          otherMs: Math.max(0, doneAt - closedAt - readClaimMs - transformMs - effectsMs - commitMs),
        });
        if (this.options.trackDelays) {
          for (const records of Object.values(event.records)) {
            for (const r of records) {
              const sent = sendTimeMs(Buffer.from(r.value, 'base64').toString('utf8').trim());
              this.commitLatency.push({ t: sent, v: doneAt - sent });
            }
          }
        }
        return report;
      };
    }
    this.runner = new this.options.Runner({
      jobName: 'sent-received',
      topics: [topic],
      source,
      brokers: endpoints.kafkaBrokers,
      invoke,
      onFailureDir: this.options.onFailureDir,
      log,
      ...(this.options.pollers ? { pollers: this.options.pollers } : {}),
      ...(this.options.trackDelays
        ? {
            observer: {
              fetched: (_topic: string, partition: number, last: bigint, _n: number, at: number) => {
                let list = this.arrivals.get(partition);
                if (!list) this.arrivals.set(partition, (list = []));
                list.push({ last, at });
              },
            },
          }
        : {}),
    });
    await this.runner.start();
    this.startedAt = Date.now();
  }

  /** Per record of the event: how long it waited between its arrival from Kafka and its batch closing. */
  private noteWaits(event: MSKEvent, closedAt: number): void {
    for (const records of Object.values(event.records)) {
      for (const r of records) {
        const list = this.arrivals.get(r.partition) ?? [];
        const offset = BigInt(r.offset);
        // The first fetch whose last offset reaches this record's: fetches of a partition come in offset order.
        let lo = 0;
        let hi = list.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (list[mid]!.last >= offset) hi = mid;
          else lo = mid + 1;
        }
        const arrived = list[lo]?.at ?? closedAt;
        this.waited.set(Buffer.from(r.value, 'base64').toString('utf8').trim(), { arrived, closedAt });
      }
    }
  }

  private requestAcked(at: number, rows: number): void {
    this.acks.push({ at, rows });
    this.acked += rows;
  }

  private rowAcked(timeSent: string, acked: number): void {
    const sent = sendTimeMs(timeSent);
    this.ackAt.push(acked);
    this.sentAt.push(sent);
    if (this.options.trackDelays) {
      const waited = this.waited.get(timeSent);
      if (waited !== undefined) {
        this.waited.delete(timeSent);
        this.processingDelay.push({ t: sent, v: acked - sent - (waited.closedAt - waited.arrived) });
        this.fetchDelay.push({ t: sent, v: waited.arrived - sent });
      }
    }
  }

  /** Tracks the requests in flight, time-weighted. */
  private flight(delta: number): void {
    const now = performance.now();
    if (this.current > 0 && this.lastChange) {
      this.inFlight.weightedMs += this.current * (now - this.lastChange);
      this.inFlight.busyMs += now - this.lastChange;
    }
    this.lastChange = now;
    this.current += delta;
    if (this.current > this.inFlight.max) this.inFlight.max = this.current;
  }

  /** The client the stores use, with every statement timed and each `sent_received` row's acknowledgement recorded. */
  private observed(client: Client): Client {
    const insert = renderInsert(this.options.keyspace, SENT_RECEIVED);
    const track = <T>(
      kind: string,
      rows: number,
      result: Promise<T>,
      onAck?: (acked: number) => void,
    ): Promise<T> => {
      const issued = performance.now();
      this.flight(1);
      void result.then(
        () => {
          this.flight(-1);
          const stats = (this.statements[kind] ??= { count: 0, totalMs: 0, rows: 0 });
          stats.count++;
          stats.rows += rows;
          stats.totalMs += performance.now() - issued;
          onAck?.(Date.now());
        },
        () => this.flight(-1),
      );
      return result;
    };
    const execute = ((query: string, params?: unknown[], options?: object) => {
      const kind = statementKind(query, insert);
      return track(
        kind,
        1,
        client.execute(query, params, options),
        kind === 'row INSERT' && params
          ? (acked) => {
              this.requestAcked(acked, 1);
              if (this.options.trackDelays) this.rowAcked(params[0] as string, acked);
            }
          : undefined,
      );
    }) as Client['execute'];
    const batch = ((queries: Array<{ query: string; params: unknown[] }>, options?: object) => {
      const kind = `${statementKind(queries[0]!.query, insert)} (unlogged batch)`;
      return track(kind, queries.length, client.batch(queries, options), (acked) => {
        let rows = 0;
        for (const q of queries) {
          if (q.query !== insert) continue;
          rows++;
          if (this.options.trackDelays) this.rowAcked(q.params[0] as string, acked);
        }
        if (rows) this.requestAcked(acked, rows);
      });
    }) as Client['batch'];
    return new Proxy(client, {
      get: (target, property) => {
        if (property === 'execute') return execute;
        if (property === 'batch') return batch;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** When the last batch completed (epoch ms). */
  lastBatchAt(): number {
    return this.batches.length ? this.batches[this.batches.length - 1]!.doneAt : Number.NaN;
  }

  async stop(): Promise<void> {
    await this.runner?.stop();
  }

  /** Rows in the sink table and the sum of the checkpoints' next offsets (fresh topic: offsets start at 0). */
  async verify(partitions: number): Promise<{ rows: number; checkpointed: bigint }> {
    const client = this.client;
    if (!client) return { rows: 0, checkpointed: 0n };
    const { keyspace, topic } = this.options;
    // Counted page by page here, not with COUNT(*): a server-side aggregate over 200k rows runs into Cassandra's
    // 5 s read_request_timeout on two busy cores and fails the whole read.
    let rows = 0;
    let pageState: string | undefined;
    do {
      const page = await client.execute(
        `SELECT ${SENT_RECEIVED.partitionKey[0]!} FROM ${qualified(keyspace, SENT_RECEIVED)}`,
        [],
        {
          fetchSize: 5000,
          readTimeout: 120_000,
          ...(pageState ? { pageState } : {}),
        },
      );
      rows += page.rowLength;
      pageState = page.pageState ?? undefined;
    } while (pageState);
    let checkpointed = 0n;
    for (let p = 0; p < partitions; p++)
      checkpointed +=
        (await checkpointedOffset(client, keyspace, { job: this.jobName, topic, partition: p })) ?? 0n;
    return { rows, checkpointed };
  }

  async close(): Promise<void> {
    await this.client?.shutdown();
  }
}
