/**
 * The local event-source runner: a kafkajs consumer group that builds micro-batches the way Lambda's MSK
 * event source mapping does, and sends the handler the exact MSK event.
 *
 * - A batch closes at `batchSize` records, when the batching window (`maxBatchingWindowSeconds`, counted from
 *   the first record) ends, or before it would pass the 6 MB invocation payload cap.
 * - Records keep their order within each partition; partitions share batches.
 * - Offsets are committed only after the handler succeeds (the committed offset is the next one to read).
 * - A failing batch is retried with backoff up to `retryAttempts`, or until its oldest record is older than
 *   `maxRecordAgeSeconds`; with `bisectBatchOnError` it is split in two first. A batch that still fails goes
 *   to the on-failure destination (a JSON Lines file, one Lambda-style invocation record per batch) and the
 *   runner moves on.
 * - A new consumer group starts at LATEST, TRIM_HORIZON or AT_TIMESTAMP; an existing one resumes.
 * - `stop()` is graceful: stop fetching, finish the batch in flight, commit, disconnect.
 *
 * https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import type { MSKEvent } from 'aws-lambda';
import type { EventSourceConfig } from '../lib/config';
import {
  eventPayloadBytes,
  mskHeaders,
  toMskEvent,
  type KafkaHeader,
  type KafkaRecord,
} from '../lambda/runtime/event';

/** Lambda's synchronous invocation payload limit. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export interface RunnerOptions {
  /** The job name, used for the client id and the on-failure file. */
  readonly jobName: string;
  readonly topics: readonly string[];
  readonly source: EventSourceConfig;
  readonly brokers: readonly string[];
  /** The handler: it receives the MSK event exactly as Lambda would send it. */
  readonly invoke: (event: MSKEvent) => Promise<unknown>;
  /** Where failed batches are described, one JSON line each. */
  readonly onFailureDir: string;
  /** @default - JSON lines on stdout */
  readonly log?: (line: Record<string, unknown>) => void;
  /** @default - 6 MB */
  readonly maxPayloadBytes?: number;
  /** Stop by itself once every partition is committed up to the end offsets seen at start (for replay). @default false */
  readonly stopWhenCaughtUp?: boolean;
  /** @default - 500 ms, doubling up to 30 s */
  readonly retryBaseDelayMs?: number;
}

export interface RunnerStats {
  batches: number;
  records: number;
  failedBatches: number;
  failedRecords: number;
}

interface Waiter {
  remaining: number;
  lastDone: bigint | undefined;
  resolve: (lastDone: bigint | undefined) => void;
}

interface Buffered {
  readonly record: KafkaRecord;
  readonly waiter: Waiter;
  /** Bytes this record adds to the event's JSON. */
  readonly bytes: number;
}

function headersOf(message: KafkaMessage): KafkaHeader[] {
  const out: KafkaHeader[] = [];
  for (const [key, value] of Object.entries(message.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined) out.push({ key, value: Buffer.isBuffer(v) ? v : Buffer.from(v) });
    }
  }
  return out;
}

export function toKafkaRecord(topic: string, partition: number, message: KafkaMessage): KafkaRecord {
  return {
    topic,
    partition,
    offset: BigInt(message.offset),
    timestamp: Number(message.timestamp),
    // Bit 3 of the record batch attributes is the timestamp type (Kafka protocol, RecordBatch).
    timestampType: (message.attributes & 0x08) !== 0 ? 'LOG_APPEND_TIME' : 'CREATE_TIME',
    key: message.key ?? null,
    value: message.value ?? null,
    headers: headersOf(message),
  };
}

const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * The bytes one record adds to the MSK event JSON when it is alone in its partition: its
 * `"<topic>-<partition>":[...]` entry included, which over-counts records that share a partition and so keeps
 * the 6 MB cap safe. Computed from lengths, not by serialising: this runs once per record, and serialising
 * cost a tenth of the pipeline's CPU (bench/README.md). The tests hold it equal to the serialised event.
 */
export function recordBytes(record: KafkaRecord): number {
  let n = jsonBytes(`${record.topic}-${record.partition}`) + ':['.length + ']'.length;
  n += '{"topic":'.length + jsonBytes(record.topic);
  n += ',"partition":'.length + String(record.partition).length;
  n += ',"offset":'.length + String(Number(record.offset)).length;
  n += ',"timestamp":'.length + jsonBytes(record.timestamp);
  n += ',"timestampType":'.length + jsonBytes(record.timestampType);
  if (record.key !== null) n += ',"key":""'.length + base64Length(record.key.length);
  if (record.value !== null) n += ',"value":""'.length + base64Length(record.value.length);
  n +=
    ',"headers":'.length +
    (record.headers.length ? jsonBytes(mskHeaders(record.headers)) : '[]'.length) +
    '}'.length;
  return n;
}

/**
 * The batching rules alone, without Kafka: records go in as they are fetched, batches come out as the event
 * source mapping would cut them.
 */
export class MicroBatcher {
  private readonly buffer: Buffered[] = [];
  /** The bytes of every buffered record: kept as a running total, so no wake-up sums the whole buffer. */
  private bufferedBytes = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly batchSize: number,
    private readonly windowMs: number,
    private readonly maxPayloadBytes: number,
    private readonly envelopeBytes: number,
  ) {}

  get buffered(): number {
    return this.buffer.length;
  }

  /** Adds one partition's fetched records; resolves with the last offset done once they are all handled. */
  enqueue(records: readonly KafkaRecord[]): Promise<bigint | undefined> {
    return new Promise((resolve) => {
      const waiter: Waiter = { remaining: records.length, lastDone: undefined, resolve };
      for (const record of records) {
        const bytes = recordBytes(record);
        this.buffer.push({ record, waiter, bytes });
        this.bufferedBytes += bytes;
      }
      this.wake?.();
    });
  }

  /**
   * Waits for the next batch: the first record opens the window; the batch closes when it is full, when the
   * window ends, or when `stopped()` turns true. Returns an empty list only when stopped with nothing buffered.
   */
  async next(stopped: () => boolean): Promise<Buffered[]> {
    while (!this.buffer.length && !stopped()) await this.sleep(250);
    const windowEnd = Date.now() + this.windowMs;
    while (!stopped() && this.buffer.length < this.batchSize && this.fits() && Date.now() < windowEnd) {
      await this.sleep(Math.min(250, windowEnd - Date.now()));
    }
    // A stop while a batch is still being collected abandons it: nothing of it was sent or committed, so
    // its records come back on restart. The batch already handed to the handler is the one that finishes.
    if (stopped()) return [];
    return this.take();
  }

  /**
   * Back-pressure for the fetcher: waits while the buffer holds two batches' worth (in records or bytes), so the
   * next batch is already fetched when the current one is handled, and memory stays bounded.
   */
  async waitForRoom(stopped: () => boolean): Promise<void> {
    while (
      !stopped() &&
      (this.buffer.length >= 2 * this.batchSize || this.bufferedBytes >= 2 * this.maxPayloadBytes)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Whether the whole buffer fits in one event. */
  private fits(): boolean {
    return this.envelopeBytes + this.bufferedBytes <= this.maxPayloadBytes;
  }

  private take(): Buffered[] {
    let bytes = this.envelopeBytes;
    let n = 0;
    while (
      n < this.buffer.length &&
      n < this.batchSize &&
      bytes + this.buffer[n]!.bytes <= this.maxPayloadBytes
    ) {
      bytes += this.buffer[n]!.bytes;
      n++;
    }
    // A single record over the cap still goes alone, so that it reaches the on-failure path instead of
    // blocking its partition forever.
    if (n === 0 && this.buffer.length) n = 1;
    const taken = this.buffer.splice(0, n);
    for (const item of taken) this.bufferedBytes -= item.bytes;
    return taken;
  }

  /** Marks records as handled (processed or sent to the on-failure destination). */
  static settle(items: readonly Buffered[]): void {
    for (const { record, waiter } of items) {
      waiter.lastDone = record.offset;
      if (--waiter.remaining === 0) waiter.resolve(waiter.lastDone);
    }
  }

  /** Puts records taken for a batch back at the front, in order, to try them again. */
  requeue(items: readonly Buffered[]): void {
    this.buffer.unshift(...items);
    for (const item of items) this.bufferedBytes += item.bytes;
  }

  /** Releases every waiter without handling its records: they stay uncommitted and come back on restart. */
  abandon(): void {
    this.bufferedBytes = 0;
    for (const { waiter } of this.buffer.splice(0)) {
      if (waiter.remaining > 0) {
        waiter.remaining = 0;
        waiter.resolve(waiter.lastDone);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.wake = undefined;
          resolve();
        },
        Math.max(0, ms),
      );
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

export class EventSourceRunner {
  readonly stats: RunnerStats = { batches: 0, records: 0, failedBatches: 0, failedRecords: 0 };
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly batcher: MicroBatcher;
  private readonly log: (line: Record<string, unknown>) => void;
  private readonly eventSourceArn: string;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private endOffsets: Map<string, bigint> | undefined;
  private readonly committed = new Map<string, bigint>();
  private stoppedResolve: (() => void) | undefined;
  /** Resolves once the runner has stopped, by `stop()` or by catching up. */
  readonly stopped: Promise<void>;

  constructor(private readonly options: RunnerOptions) {
    this.log = options.log ?? ((line) => process.stdout.write(`${JSON.stringify(line)}\n`));
    this.kafka = new Kafka({
      clientId: `microbatch-runner-${options.jobName}`,
      brokers: [...options.brokers],
      logLevel: logLevel.ERROR,
      retry: { retries: 8 },
    });
    this.consumer = this.kafka.consumer({
      groupId: options.source.consumerGroupId,
      // About one batch per partition fetch; the batcher's back-pressure bounds what waits in memory.
      maxBytesPerPartition: Math.min(options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES, 6 * 1024 * 1024),
    });
    this.eventSourceArn = `arn:local:kafka:${options.brokers.join(',')}:group/${options.source.consumerGroupId}`;
    const envelope = toMskEvent([], {
      eventSourceArn: this.eventSourceArn,
      bootstrapServers: options.brokers.join(','),
    });
    this.batcher = new MicroBatcher(
      options.source.batchSize,
      options.source.maxBatchingWindowSeconds * 1000,
      options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES,
      // Room for the "<topic>-<partition>" keys of a few partitions.
      eventPayloadBytes(envelope) + 64 * 16,
    );
    this.stopped = new Promise((resolve) => (this.stoppedResolve = resolve));
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await this.applyStartingPosition(admin);
      if (this.options.stopWhenCaughtUp) {
        this.endOffsets = new Map();
        for (const topic of this.options.topics) {
          for (const p of await admin.fetchTopicOffsets(topic)) {
            this.endOffsets.set(`${topic}-${p.partition}`, BigInt(p.high));
            // A partition with nothing left to read (empty, or truncated by retention) counts as caught up
            // from its low watermark: it will never deliver a record to commit.
            this.committed.set(`${topic}-${p.partition}`, BigInt(p.low));
          }
        }
        const group = await admin.fetchOffsets({
          groupId: this.options.source.consumerGroupId,
          topics: [...this.options.topics],
        });
        for (const t of group)
          for (const p of t.partitions)
            if (p.offset !== '-1') this.committed.set(`${t.topic}-${p.partition}`, BigInt(p.offset));
      }
    } finally {
      await admin.disconnect();
    }
    await this.consumer.connect();
    for (const topic of this.options.topics) {
      await this.consumer.subscribe({
        topic,
        fromBeginning: this.options.source.startingPosition !== 'LATEST',
      });
    }
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 64,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (!batch.messages.length || this.stopping) return;
        const records = batch.messages.map((m) => toKafkaRecord(batch.topic, batch.partition, m));
        // Hand the records over and let kafkajs fetch on while they wait for their batch: the event source
        // mapping keeps polling during its window too. `resolveOffset` only moves kafkajs's fetch position;
        // offsets are committed by `commit()`, after the handler succeeded (autoCommit is off).
        void this.batcher.enqueue(records);
        resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
        // Back-pressure: the coordinator must keep hearing from us while we wait for room.
        const beat = setInterval(() => void heartbeat().catch(() => undefined), 3000);
        try {
          await this.batcher.waitForRoom(() => this.stopping);
        } finally {
          clearInterval(beat);
        }
      },
    });
    this.loop = this.batchLoop().catch((error: unknown) => {
      this.log({
        level: 'ERROR',
        message: 'the batch loop stopped',
        job: this.options.jobName,
        error: String(error),
      });
    });
    if (this.isCaughtUp()) void this.stop();
  }

  /** A new group starts where `startingPosition` says; a group with committed offsets resumes from them. */
  private async applyStartingPosition(admin: ReturnType<Kafka['admin']>): Promise<void> {
    const { startingPosition, startingPositionTimestamp, consumerGroupId } = this.options.source;
    if (startingPosition !== 'AT_TIMESTAMP') return;
    const offsets = await admin.fetchOffsets({ groupId: consumerGroupId, topics: [...this.options.topics] });
    for (const { topic, partitions } of offsets) {
      if (partitions.some((p) => p.offset !== '-1')) continue;
      const seek = await admin.fetchTopicOffsetsByTimestamp(topic, startingPositionTimestamp! * 1000);
      await admin.setOffsets({
        groupId: consumerGroupId,
        topic,
        partitions: seek.map((s) => ({ partition: s.partition, offset: s.offset })),
      });
    }
  }

  private async batchLoop(): Promise<void> {
    while (!this.stopping) {
      const items = await this.batcher.next(() => this.stopping);
      if (!items.length) continue;
      const records = items.map((i) => i.record);
      try {
        await this.handle(records);
      } catch (error) {
        // Either a stop arrived while the batch kept failing (it stays uncommitted and comes back on the
        // next start), or its on-failure record could not be written (then nothing may be committed either).
        this.log({
          level: 'ERROR',
          message: 'batch left uncommitted',
          job: this.options.jobName,
          error: String(error),
        });
        if (this.stopping) return;
        this.batcher.requeue(items);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      try {
        await this.commit(records);
      } catch (error) {
        // The effects and checkpoints are in Cassandra; an uncommitted Kafka offset only means these records
        // come back after a restart or rebalance, and the checkpoints skip them.
        this.log({
          level: 'WARN',
          message: 'offset commit failed; the records will be redelivered and skipped as duplicates',
          job: this.options.jobName,
          error: String(error),
        });
      }
      MicroBatcher.settle(items);
      if (this.isCaughtUp()) void this.stop();
    }
  }

  private isCaughtUp(): boolean {
    if (!this.endOffsets) return false;
    for (const [key, end] of this.endOffsets)
      if ((this.committed.get(key) ?? 0n) < end && end > 0n) return false;
    return true;
  }

  /** Runs the handler with retries; a batch that keeps failing goes to the on-failure destination. */
  private async handle(records: readonly KafkaRecord[], approximateInvokeCount = 0): Promise<void> {
    const event = toMskEvent(records, {
      eventSourceArn: this.eventSourceArn,
      bootstrapServers: this.options.brokers.join(','),
    });
    const { retryAttempts, maxRecordAgeSeconds, bisectBatchOnError } = this.options.source;
    const base = this.options.retryBaseDelayMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.invoke(event);
        this.stats.batches++;
        this.stats.records += records.length;
        return;
      } catch (error) {
        const invokes = approximateInvokeCount + attempt;
        const oldest = Math.min(...records.map((r) => r.timestamp));
        const tooOld = maxRecordAgeSeconds !== -1 && Date.now() - oldest > maxRecordAgeSeconds * 1000;
        const exhausted = retryAttempts !== -1 && attempt > retryAttempts;
        this.log({
          level: 'WARN',
          message: 'handler failed',
          job: this.options.jobName,
          attempt,
          records: records.length,
          error: String(error),
        });
        if (bisectBatchOnError && records.length > 1) {
          const half = Math.ceil(records.length / 2);
          await this.handle(records.slice(0, half), invokes);
          await this.handle(records.slice(half), invokes);
          return;
        }
        // A graceful stop does not wait for a failing batch to recover: it stays uncommitted and comes back.
        if (this.stopping && !exhausted && !tooOld) throw error;
        if (exhausted || tooOld) {
          await this.sendToOnFailure(
            event,
            records,
            error,
            invokes,
            tooOld ? 'RecordAgeExceeded' : 'RetryAttemptsExhausted',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, base * 2 ** (attempt - 1))));
      }
    }
  }

  /** The on-failure record, shaped like Lambda's for Kafka event sources. */
  private async sendToOnFailure(
    event: MSKEvent,
    records: readonly KafkaRecord[],
    error: unknown,
    invokes: number,
    condition: string,
  ): Promise<void> {
    this.stats.failedBatches++;
    this.stats.failedRecords += records.length;
    const byPartition = new Map<string, KafkaRecord[]>();
    for (const r of records) {
      const key = `${r.topic}-${r.partition}`;
      if (!byPartition.has(key)) byPartition.set(key, []);
      byPartition.get(key)!.push(r);
    }
    await mkdir(this.options.onFailureDir, { recursive: true });
    const file = join(this.options.onFailureDir, `${this.options.jobName}.jsonl`);
    for (const list of byPartition.values()) {
      const line = {
        requestContext: {
          requestId: randomUUID(),
          functionArn: `local:${this.options.jobName}`,
          condition,
          approximateInvokeCount: invokes,
        },
        responseContext: {
          statusCode: 200,
          executedVersion: '$LATEST',
          functionError: 'Unhandled',
          errorMessage: String(error),
        },
        version: '1.0',
        timestamp: new Date().toISOString(),
        KafkaBatchInfo: {
          batchSize: list.length,
          topic: list[0]!.topic,
          partition: list[0]!.partition,
          offset: Number(list[0]!.offset),
          eventSourceArn: event.eventSourceArn,
          bootstrapServers: event.bootstrapServers,
          payloadSize: eventPayloadBytes(event),
          recordsInfo: {
            firstRecordOffset: list[0]!.offset.toString(),
            lastRecordOffset: list[list.length - 1]!.offset.toString(),
            firstRecordTimestamp: new Date(list[0]!.timestamp).toISOString(),
            lastRecordTimestamp: new Date(list[list.length - 1]!.timestamp).toISOString(),
          },
        },
      };
      await appendFile(file, `${JSON.stringify(line)}\n`);
    }
    this.log({
      level: 'ERROR',
      message: 'batch sent to the on-failure destination',
      job: this.options.jobName,
      condition,
      records: records.length,
      file,
    });
  }

  private async commit(records: readonly KafkaRecord[]): Promise<void> {
    const next = new Map<string, { topic: string; partition: number; offset: bigint }>();
    for (const r of records)
      next.set(`${r.topic}-${r.partition}`, {
        topic: r.topic,
        partition: r.partition,
        offset: r.offset + 1n,
      });
    await this.consumer.commitOffsets(
      [...next.values()].map((n) => ({
        topic: n.topic,
        partition: n.partition,
        offset: n.offset.toString(),
      })),
    );
    for (const [key, n] of next) this.committed.set(key, n.offset);
  }

  /**
   * Graceful stop, like Spark's `stop(stopGracefully=True)`: no new fetches, the batch in flight finishes and
   * is committed, records fetched but not yet batched stay uncommitted (they come back on restart).
   */
  async stop(): Promise<void> {
    if (this.stopping) return this.stopped;
    this.stopping = true;
    try {
      await this.loop;
      this.batcher.abandon();
      await this.consumer.disconnect();
    } finally {
      this.stoppedResolve?.();
    }
    return this.stopped;
  }
}
