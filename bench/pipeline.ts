/**
 * The pipeline under test, wired exactly as `openLocalRuntime` (local/app.ts) wires it: the event-source
 * runner builds the MSK event, `runMicroBatch` runs the sent-received job through the exactly-once protocol on
 * the real Cassandra stores. Two things are added, neither on the pipeline's path:
 * - the Cassandra client is wrapped so that the moment Cassandra acknowledges each `sent_received` INSERT is
 *   recorded, together with the row's `time_sent` (the producer's send time): that pair is the latency from
 *   send to row written;
 * - each batch's completion (effects written and checkpoint moved) is recorded from the handler's return.
 */
import type { MSKEvent } from 'aws-lambda';
import type { Client } from 'cassandra-driver';
import type { EventSourceConfig } from '../lib/config';
import { createCassandraClient } from '../lambda/runtime/cassandra-client';
import { CassandraCheckpointStore, CassandraSinkStore } from '../lambda/runtime/cassandra-store';
import { parseMskEvent } from '../lambda/runtime/event';
import { runMicroBatch, type BatchReport } from '../lambda/runtime/batch';
import { createSentReceivedJob } from '../lambda/jobs/sent-received';
import { renderInsert, SENT_RECEIVED, OFFSET_CHECKPOINTS, qualified } from '../schema';
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
  /** Where the batch's time went (ms): the runner between batches (previous batch done to this invoke)... */
  readonly gapMs: number;
  /** ...the handler before its first row write (event parsing, checkpoint read and claim, transform)... */
  readonly beforeWritesMs: number;
  /** ...from the first row write issued to the last acknowledged... */
  readonly writingMs: number;
  /** ...and after it (the checkpoint CAS and the ledger row). */
  readonly afterWritesMs: number;
}

/** Count and mean latency of the statements of one kind. */
export interface StatementStats {
  count: number;
  totalMs: number;
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
  readonly Runner: RunnerClass;
  /** Record, per record, when its batch completed (costs a decode per record in the handler path). */
  readonly trackCommits?: boolean;
  /** An empty handler instead of the job: the runner alone (nothing is written). */
  readonly emptyHandler?: boolean;
}

export class PipelineUnderTest {
  /** Per written row: when Cassandra acknowledged it (epoch ms), and when it was sent. */
  readonly ackAt: number[] = [];
  readonly sentAt: number[] = [];
  /** Per record, when its batch completed (only with `trackCommits`). */
  readonly commitLatency: Array<{ t: number; v: number }> = [];
  readonly batches: BatchSample[] = [];
  readonly warnings: string[] = [];
  readonly statements: Record<string, StatementStats> = {};
  records = 0;
  written = 0;
  private current = { invokeAt: 0, firstIssue: Number.POSITIVE_INFINITY, lastAck: 0 };
  private previousDone = 0;
  startedAt = 0;
  private runner: InstanceType<RunnerClass> | undefined;
  private client: Client | undefined;

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
          gapMs: 0,
          beforeWritesMs: 0,
          writingMs: 0,
          afterWritesMs: 0,
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
        // integration tests check the same statements in the Keyspaces-strict mode), and counts with COUNT(*).
        { keyspacesStrict: false },
      );
      this.client = client;
      const observed = this.observed(client);
      const checkpoints = new CassandraCheckpointStore(observed, keyspace);
      const sink = new CassandraSinkStore(observed, keyspace, {
        ...(this.options.writeConcurrency ? { writeConcurrency: this.options.writeConcurrency } : {}),
      });
      const job = createSentReceivedJob({ timeFormat: 'iso', failOnDataLoss: false }, { topics: [topic] });
      invoke = async (event) => {
        const invokeAt = performance.now();
        this.current = { invokeAt, firstIssue: Number.POSITIVE_INFINITY, lastAck: 0 };
        const report: BatchReport = await runMicroBatch(job, parseMskEvent(event), {
          checkpoints,
          sink,
          log,
        });
        const doneAt = Date.now();
        const done = performance.now();
        const { firstIssue, lastAck } = this.current;
        const wrote = Number.isFinite(firstIssue) && lastAck > 0;
        this.records += report.recordsIn;
        this.written += report.written;
        this.batches.push({
          doneAt,
          records: report.recordsIn,
          written: report.written,
          durationMs: report.durationMs,
          partitions: report.partitions.length,
          gapMs: this.previousDone ? invokeAt - this.previousDone : 0,
          beforeWritesMs: wrote ? firstIssue - invokeAt : done - invokeAt,
          writingMs: wrote ? lastAck - firstIssue : 0,
          afterWritesMs: wrote ? done - lastAck : 0,
        });
        this.previousDone = done;
        if (this.options.trackCommits) {
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
    });
    await this.runner.start();
    this.startedAt = Date.now();
  }

  /** The client the stores use, with every statement timed and each `sent_received` row's acknowledgement recorded. */
  private observed(client: Client): Client {
    const insert = renderInsert(this.options.keyspace, SENT_RECEIVED);
    const execute = ((query: string, params?: unknown[], options?: object) => {
      const issued = performance.now();
      const result = client.execute(query, params, options);
      const kind = statementKind(query, insert);
      if (kind === 'row INSERT') this.current.firstIssue = Math.min(this.current.firstIssue, issued);
      void result.then(
        () => {
          const acked = performance.now();
          const stats = (this.statements[kind] ??= { count: 0, totalMs: 0 });
          stats.count++;
          stats.totalMs += acked - issued;
          if (kind === 'row INSERT' && params) {
            this.current.lastAck = acked;
            this.ackAt.push(Date.now());
            this.sentAt.push(sendTimeMs(params[0] as string));
          }
        },
        () => undefined,
      );
      return result;
    }) as Client['execute'];
    return new Proxy(client, {
      get: (target, property) => {
        if (property === 'execute') return execute;
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
    const rs = await client.execute(`SELECT COUNT(*) AS n FROM ${qualified(keyspace, SENT_RECEIVED)}`, [], {
      readTimeout: 120_000,
    });
    let checkpointed = 0n;
    for (let p = 0; p < partitions; p++) {
      const row = (
        await client.execute(
          `SELECT next_offset FROM ${qualified(keyspace, OFFSET_CHECKPOINTS)} WHERE job = ? AND topic = ? AND kafka_partition = ?`,
          ['sent-received', topic, p],
        )
      ).first();
      if (row) checkpointed += row.get('next_offset') as bigint;
    }
    return { rows: Number(rs.first().get('n') as bigint), checkpointed };
  }

  async close(): Promise<void> {
    await this.client?.shutdown();
  }
}
