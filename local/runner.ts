/**
 * The local event-source runner: a kafkajs consumer group that builds micro-batches the way Lambda's MSK
 * event source mapping does, and sends the handler the exact MSK event.
 *
 * - A batch closes at `batchSize` records, when the batching window (`maxBatchingWindowSeconds`, counted from
 *   the first record) ends, or before it would pass the 6 MB invocation payload cap.
 * - Records keep their order within each partition; a poller's partitions share its batches (one poller per
 *   partition by default, `RunnerOptions.pollers`).
 * - Pollers that start together close their first batches at different shares of the window and size, so that
 *   their batches do not reach the store together (`firstBatchShare`).
 * - Offsets are committed only after the handler succeeds (the committed offset is the next one to read).
 * - A failing batch is retried with backoff up to `retryAttempts`, or until its oldest record is older than
 *   `maxRecordAgeSeconds`; with `bisectBatchOnError` it is split in two first. A batch that still fails goes
 *   to the on-failure destination (a JSON Lines file, one Lambda-style invocation record per batch) and the
 *   runner moves on.
 * - A new consumer group starts at LATEST, TRIM_HORIZON or AT_TIMESTAMP; an existing one resumes, and reads a
 *   partition added to its topics from the partition's first record.
 * - `stop()` is graceful: stop fetching, finish the batch in flight, commit, disconnect.
 *
 * https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from '../lambda/runtime/kafkajs';
import { kafkaLogCreator } from '../lambda/runtime/kafka-log';
import { createLogger, localInvocationContext, logTo } from '../lambda/runtime/log';
import type { Context, MSKEvent } from 'aws-lambda';
import { CONSUMER_TIMEOUT_SECONDS, type EventSourceConfig } from '../config';
import {
  eventPayloadBytes,
  fromKafkaMessage,
  mskHeaders,
  toMskEvent,
  type KafkaMessageLike,
  type KafkaRecord,
} from '../lambda/runtime/event';
import { passesFilters } from '../lambda/runtime/filters';
import { errorText } from '../lambda/runtime/errors';
import type { FilterPattern } from '../config/filters';
import { claimInstanceSlot, useStaticMembership } from './static-membership';

/**
 * The longest wait between two attempts of a failing batch. Short enough that a batch resumes within seconds of
 * Cassandra coming back (30 s kept a partition idle for half a minute after its store recovered).
 */
export const MAX_RETRY_DELAY_MS = 8000;

/**
 * An invocation that outran the function's timeout. Lambda ends it and reports the batch as failed, in these
 * words, and the event source retries it; the local runner does the same.
 */
export class FunctionTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(
      `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds (the function's timeout, ` +
        'jobs.<job>.timeoutSeconds: raise it, or lower batchSize, if a batch needs longer)',
    );
    this.name = 'FunctionTimeoutError';
  }
}

/** `<topic>-<partition>: [first, last]` of each partition in `records` (in offset order within a partition). */
export function offsetRangesOf(records: readonly KafkaRecord[]): string[] {
  const ranges = new Map<string, [bigint, bigint]>();
  for (const r of records) {
    const key = `${r.topic}-${r.partition}`;
    const range = ranges.get(key);
    if (range) range[1] = r.offset;
    else ranges.set(key, [r.offset, r.offset]);
  }
  return [...ranges].map(([key, [first, last]]) => `${key}: [${first}, ${last}]`);
}

/** Lambda's synchronous invocation payload limit. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** kafkajs's fetch size per partition (see the consumer's options in `EventSourceRunner`). */
const FETCH_BYTES_PER_PARTITION = 512 * 1024;

/**
 * How often the runner looks for partitions added to its topics (kafkajs's `metadataMaxAge`). kafkajs's default,
 * 5 minutes like the Java client's, left a partition added to a running job unread for minutes; a metadata request
 * every 30 s costs nothing next to the fetches.
 */
export const PARTITION_DISCOVERY_MS = 30_000;

/** How long a silent runner keeps its partitions before the group gives them to another member. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

export interface RunnerOptions {
  /** The job name, used for the client id and the on-failure file. */
  readonly jobName: string;
  readonly topics: readonly string[];
  readonly source: EventSourceConfig;
  readonly brokers: readonly string[];
  /** The handler: it receives the MSK event exactly as Lambda would send it, with a Lambda-like context. */
  readonly invoke: (event: MSKEvent, context: Context) => Promise<unknown>;
  /** Where failed batches are described, one JSON line each. */
  readonly onFailureDir: string;
  /**
   * The runner's own lines and kafkajs's (at the levels kafka-log.ts gives them).
   * @default - a Powertools logger at INFO, service `microbatch-runner-<job>`
   */
  readonly logger?: Logger;
  /** The runner's own lines, when a test reads them. @default - through `logger` */
  readonly log?: (line: Record<string, unknown>) => void;
  /** @default - 6 MB */
  readonly maxPayloadBytes?: number;
  /** Stop by itself once every partition is handled up to the end offsets seen at start (for replay). @default false */
  readonly stopWhenCaughtUp?: boolean;
  /** The first retry's wait. @default - 500 ms, doubling up to MAX_RETRY_DELAY_MS (8 s) */
  readonly retryBaseDelayMs?: number;
  /** The consumer group session timeout. @default DEFAULT_SESSION_TIMEOUT_MS */
  readonly sessionTimeoutMs?: number;
  /**
   * Batches in flight at once, as the event source mapping's pollers invoke the function concurrently across
   * partitions. Each poller owns its partitions (a partition is never in two pollers' batches, so order within a
   * partition is kept) and runs one batch at a time; while one batch waits on its checkpoint read, claim or
   * commit, another's writes run.
   * @default - `source.provisionedPollers.maximumPollers` when set, else one poller per partition (what the
   *   on-demand event source scales to)
   */
  readonly pollers?: number;
  /**
   * How long one invocation may run, as Lambda's function timeout: then the runner gives up on it, and the batch
   * fails and is retried like any failed batch. The abandoned invocation cannot be ended inside this process, so
   * it may still write beside the retry; the checkpoints keep that exactly-once, as for two invocations that see
   * the same partition at once (lambda/runtime/checkpoint.ts).
   * @default - CONSUMER_TIMEOUT_SECONDS (the CLI passes `jobs.<job>.timeoutSeconds`)
   */
  readonly functionTimeoutMs?: number;
  /** How often partitions added to the topics are looked for. @default PARTITION_DISCOVERY_MS */
  readonly partitionDiscoveryMs?: number;
  /** Measurement hooks (the benchmark's): nothing the batches depend on. @default - none */
  readonly observer?: RunnerObserver;
  /**
   * Static group membership (local/static-membership.ts): the runner joins with an instance id of its own, which
   * a runner of the same group restarted after a crash takes over, getting the partitions back at once instead of
   * after the dead member's session. `false` joins as a dynamic member.
   * @default - on, with the slot files in DEFAULT_SLOT_DIR
   */
  readonly staticMembership?: false | { readonly slotDir?: string };
}

/** What the runner reports as it goes, for measurements. */
export interface RunnerObserver {
  /** A partition's records arrived from Kafka (`at`: epoch ms), before they wait for their batch. */
  readonly fetched?: (
    topic: string,
    partition: number,
    lastOffset: bigint,
    records: number,
    at: number,
  ) => void;
}

/**
 * Without provisioned pollers, Lambda scales the event source's pollers up to one consumer per partition; locally
 * that is the default too.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-msk-process.html
 */
export const DEFAULT_LOCAL_POLLERS = Number.POSITIVE_INFINITY;

/**
 * The share of the batching window and of the batch size at which poller `index` (0-based, in the order the
 * pollers are created) closes its first batch, when the group gave this runner partitions for `expected`
 * pollers: 1/n, 2/n, ..., 1, and 1 for a poller beyond them.
 *
 * Pollers that start together would otherwise close their windows together for as long as they run (each window
 * opens with the first record after the last one closed, and a steady producer spreads its records over the
 * partitions), so their batches all reach the store in the same instant and the last rows of each wait for the
 * others': at 2,000 records/s, 5 s and 3 partitions, 10,000 rows at once instead of 3,333 every 1.7 s (issue 12,
 * bench/README.md). Spread once, they stay spread. The window is a maximum ("the maximum amount of time to gather
 * records before invoking the function",
 * https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html), so no record waits longer
 * than it: some first batches close sooner and smaller.
 */
export function firstBatchShare(index: number, expected: number): number {
  return index < expected ? (index + 1) / expected : 1;
}

export interface RunnerStats {
  batches: number;
  records: number;
  failedBatches: number;
  failedRecords: number;
  /** Batches a graceful stop found still failing: uncommitted, they come back on the next start. */
  uncommittedAtStop: number;
}

interface Waiter {
  /** When the fetch arrived (`Date.now()`): its first record's batching window counts from then. */
  readonly arrivedAt: number;
  remaining: number;
  lastDone: bigint | undefined;
  resolve: (lastDone: bigint | undefined) => void;
}

/** One poller: its batcher, its batch loop, and how many partitions it owns. */
interface Poller {
  readonly batcher: MicroBatcher;
  partitions: number;
  loop: Promise<void> | undefined;
}

interface Buffered {
  readonly record: KafkaRecord;
  readonly waiter: Waiter;
  /** Bytes this record adds to the event's JSON (0 for a filtered record, which is never sent). */
  readonly bytes: number;
  /**
   * The event source's filters drop the record: it is never sent to the handler, but it is committed past with
   * the batch it comes in, as Lambda commits past filtered records.
   */
  readonly filtered: boolean;
}

/** A kafkajs message as the MSK record fields (see `fromKafkaMessage`). */
export function toKafkaRecord(topic: string, partition: number, message: KafkaMessage): KafkaRecord {
  return fromKafkaMessage(topic, partition, message as KafkaMessageLike);
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
  let n = partitionEntryBytes(record.topic, record.partition);
  n += ',"offset":'.length + String(Number(record.offset)).length;
  // JSON writes a finite number as String() does.
  n += ',"timestamp":'.length + String(record.timestamp).length;
  n += ',"timestampType":'.length + cachedJsonBytes(record.timestampType);
  if (record.key !== null) n += ',"key":""'.length + base64Length(record.key.length);
  if (record.value !== null) n += ',"value":""'.length + base64Length(record.value.length);
  n +=
    ',"headers":'.length +
    (record.headers.length ? jsonBytes(mskHeaders(record.headers)) : '[]'.length) +
    '}'.length;
  return n;
}

/** JSON sizes of the few strings every record repeats (topic names, timestamp types). */
const jsonSizes = new Map<string, number>();
function cachedJsonBytes(text: string): number {
  let n = jsonSizes.get(text);
  if (n === undefined) {
    n = jsonBytes(text);
    if (jsonSizes.size < 10_000) jsonSizes.set(text, n);
  }
  return n;
}

/** `"<topic>-<partition>":[` ... `]` and `{"topic":"<topic>","partition":<partition>`: the same for every record of a partition. */
function partitionEntryBytes(topic: string, partition: number): number {
  const topicBytes = cachedJsonBytes(topic);
  const partitionDigits = String(partition).length;
  // The key is the topic's JSON string with "-<partition>" inside its quotes.
  return (
    topicBytes +
    1 +
    partitionDigits +
    ':['.length +
    ']'.length +
    '{"topic":'.length +
    topicBytes +
    ',"partition":'.length +
    partitionDigits
  );
}

/**
 * The batching rules alone, without Kafka: records go in as they are fetched, batches come out as the event
 * source mapping would cut them.
 */
export class MicroBatcher {
  private readonly buffer: Buffered[] = [];
  /** The bytes of every buffered record: kept as a running total, so no wake-up sums the whole buffer. */
  private bufferedBytes = 0;
  /** Buffered records the filters let through: only they count towards the batch size. */
  private bufferedDelivered = 0;
  private wake: (() => void) | undefined;
  /** What `whenRoom` was given while the buffer was full: resumes of paused partitions. */
  private readonly roomWaiters: Array<() => void> = [];
  /** Per `<topic>-<partition>`, the highest offset enqueued (see `enqueue`). */
  private readonly frontier = new Map<string, bigint>();

  /** What the next batch may reach of the window and the batch size: `firstBatchShare`, then 1 (see there). */
  private share: number;

  /**
   * @param firstBatchShare the share of the window and of the batch size at which the first batch closes, in
   *   (0, 1]: the runner gives its pollers different shares so that their batches do not close together
   *   (`firstBatchShare`). Later batches get the whole window and size.
   */
  constructor(
    private readonly batchSize: number,
    private readonly windowMs: number,
    private readonly maxPayloadBytes: number,
    private readonly envelopeBytes: number,
    private readonly filters: readonly FilterPattern[] = [],
    firstBatchShare = 1,
  ) {
    if (!(firstBatchShare > 0 && firstBatchShare <= 1))
      throw new RangeError(`firstBatchShare must be in (0, 1], received ${firstBatchShare}.`);
    this.share = firstBatchShare;
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * Adds one partition's fetched records; resolves with the last offset done once they are all handled.
   *
   * Records at or below the highest offset this batcher was ever given for their partition are dropped: kafkajs
   * fetches a partition again from its committed offset after a rebalance or a broker restart, while the first
   * fetch's records are still buffered or already handled. Taking both would put a partition's offsets out of
   * order in one batch (and its on-failure record would end below where it starts); every dropped offset is
   * buffered, in a batch, or done, as the event source mapping would have it.
   */
  enqueue(records: readonly KafkaRecord[]): Promise<bigint | undefined> {
    const first = records[0];
    if (first) {
      const key = `${first.topic}-${first.partition}`;
      const seen = this.frontier.get(key);
      if (seen !== undefined) records = records.filter((r) => r.offset > seen);
      const last = records[records.length - 1];
      if (last) this.frontier.set(key, last.offset);
    }
    if (!records.length) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        arrivedAt: Date.now(),
        remaining: records.length,
        lastDone: undefined,
        resolve,
      };
      for (const record of records) {
        const filtered = !passesFilters(this.filters, record);
        const bytes = filtered ? 0 : recordBytes(record);
        this.buffer.push({ record, waiter, bytes, filtered });
        this.bufferedBytes += bytes;
        if (!filtered) this.bufferedDelivered++;
      }
      this.wake?.();
    });
  }

  /**
   * Waits for the next batch: the first record opens the window; the batch closes when it is full, when the
   * window ends, or when `stopped()` turns true. Returns an empty list only when stopped with nothing buffered.
   *
   * The window counts from the first buffered record's arrival, not from this call: records fetched while the
   * previous batch was being handled have been gathered since then, and a window restarted at the call would
   * hold them for the previous batch's processing time on top of the window (the event source mapping's
   * window is "the maximum amount of time to gather records before invoking the function",
   * https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html).
   */
  async next(stopped: () => boolean): Promise<Buffered[]> {
    while (!this.buffer.length && !stopped()) await this.sleep(250);
    const windowEnd = (this.buffer[0]?.waiter.arrivedAt ?? Date.now()) + this.windowMs * this.share;
    const size = Math.max(1, Math.ceil(this.batchSize * this.share));
    while (!stopped() && this.bufferedDelivered < size && this.fits() && Date.now() < windowEnd) {
      await this.sleep(Math.min(250, windowEnd - Date.now()));
    }
    // A stop while a batch is still being collected abandons it: nothing of it was sent or committed, so
    // its records come back on restart. The batch already handed to the handler is the one that finishes.
    if (stopped()) return [];
    this.share = 1;
    return this.take(size);
  }

  /**
   * Back-pressure for the fetcher: the buffer is full when it holds two batches' worth (in records or bytes), so
   * that the next batch is already fetched when the current one is handled, and memory stays bounded.
   */
  get full(): boolean {
    return (
      this.bufferedDelivered >= 2 * this.batchSize ||
      this.buffer.length >= 2 * Math.max(this.batchSize, 10_000) ||
      this.bufferedBytes >= 2 * this.maxPayloadBytes
    );
  }

  /** Calls `resume` once the buffer has room again (at once if it has). */
  whenRoom(resume: () => void): void {
    if (this.full) this.roomWaiters.push(resume);
    else resume();
  }

  private roomMade(): void {
    if (this.full || !this.roomWaiters.length) return;
    for (const resume of this.roomWaiters.splice(0)) resume();
  }

  /** Whether the whole buffer fits in one event. */
  private fits(): boolean {
    return this.envelopeBytes + this.bufferedBytes <= this.maxPayloadBytes;
  }

  private take(size: number): Buffered[] {
    let bytes = this.envelopeBytes;
    let n = 0;
    let delivered = 0;
    while (n < this.buffer.length) {
      const item = this.buffer[n]!;
      if (!item.filtered && (delivered >= size || bytes + item.bytes > this.maxPayloadBytes)) break;
      bytes += item.bytes;
      if (!item.filtered) delivered++;
      n++;
    }
    // A single record over the cap still goes alone, so that it reaches the on-failure path instead of
    // blocking its partition forever.
    if (delivered === 0 && n < this.buffer.length) n++;
    const taken = this.buffer.splice(0, n);
    for (const item of taken) {
      this.bufferedBytes -= item.bytes;
      if (!item.filtered) this.bufferedDelivered--;
    }
    this.roomMade();
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
    for (const item of items) {
      this.bufferedBytes += item.bytes;
      if (!item.filtered) this.bufferedDelivered++;
    }
  }

  /** Releases every waiter without handling its records: they stay uncommitted and come back on restart. */
  abandon(): void {
    this.bufferedBytes = 0;
    this.bufferedDelivered = 0;
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

/**
 * Kafka errors that say "try again": a coordinator still being elected right after the broker started
 * (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS), a leader moving, a connection
 * refused while the broker restarts. kafkajs marks them `retriable`.
 */
export function isRetriableKafkaError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as { retriable?: boolean }).retriable === true ||
      [
        'KafkaJSConnectionError',
        'KafkaJSNumberOfRetriesExceeded',
        'KafkaJSGroupCoordinatorNotFound',
      ].includes((error as Error).name))
  );
}

/**
 * Runs `fn`, retrying retriable Kafka errors with capped exponential backoff until `timeoutMs` has passed, and
 * says each time what it is waiting for. Anything else, or the last failure, is thrown.
 */
export async function withKafkaRetry<T>(
  what: string,
  fn: () => Promise<T>,
  log: (line: Record<string, unknown>) => void,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const delay = Math.min(5000, 250 * 2 ** (attempt - 1));
      if (!isRetriableKafkaError(error) || Date.now() + delay > deadline) throw error;
      const type = (error as { type?: string }).type ?? (error as Error).name;
      log({
        level: 'WARN',
        message: `waiting for Kafka to ${what}: ${type}; retry ${attempt} in ${(delay / 1000).toFixed(1)} s`,
        error: (error as Error).message,
      });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export class EventSourceRunner {
  get jobName(): string {
    return this.options.jobName;
  }

  readonly stats: RunnerStats = {
    batches: 0,
    records: 0,
    failedBatches: 0,
    failedRecords: 0,
    uncommittedAtStop: 0,
  };
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  /** One batcher and batch loop per poller, created as partitions arrive (see `RunnerOptions.pollers`). */
  private readonly pollers: Poller[] = [];
  private readonly pollerOf = new Map<string, Poller>();
  private readonly maxPollers: number;
  /** The pollers the partitions of the latest group join make (see `firstBatchShare`). */
  private expectedPollers = 1;
  private readonly newBatcher: (firstBatchShare: number) => MicroBatcher;
  private readonly log: (line: Record<string, unknown>) => void;
  private readonly eventSourceArn: string;
  private readonly clientId: string;
  /** The static-membership slot and its registration, released when the runner stops. */
  private membership: { release(): void } | undefined;
  private stopping = false;
  private crash: Error | undefined;
  /** The retry waits in progress, one per poller at most: a stop ends them. */
  private readonly wakeRetries = new Set<() => void>();
  private started = false;
  private endOffsets: Map<string, bigint> | undefined;
  /**
   * Per `<topic>-<partition>`, the next offset to handle: what the group had committed at start, then the end of
   * each batch handled. A batch whose offset commit failed counts too: its effects are in the store, and the
   * redelivery the failed commit brings is skipped by the checkpoints (`batchLoop`).
   */
  private readonly handledUpTo = new Map<string, bigint>();
  /**
   * Per `<topic>-<partition>`, past the last offset fetched, control records included: a transaction's marker takes
   * an offset but is never a record, so a log that ends with one is read to its end with nothing left to handle.
   */
  private readonly fetchedUpTo = new Map<string, bigint>();
  /** Per `<topic>-<partition>`, past the last record handed to a poller. */
  private readonly enqueuedUpTo = new Map<string, bigint>();
  private stoppedResolve: (() => void) | undefined;
  /** Resolves once the runner has stopped, by `stop()` or by catching up. */
  readonly stopped: Promise<void>;

  constructor(private readonly options: RunnerOptions) {
    const logger = options.logger ?? createLogger({ serviceName: `microbatch-runner-${options.jobName}` });
    this.log = options.log ?? logTo(logger);
    // A client id of its own: static membership is registered per client id.
    this.clientId = `microbatch-runner-${options.jobName}-${randomUUID().slice(0, 8)}`;
    this.kafka = new Kafka({
      clientId: this.clientId,
      brokers: [...options.brokers],
      // kafkajs reports a rebalance as errors; kafka-log.ts gives those lines the level they deserve.
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(logger),
      retry: { retries: 8 },
    });
    this.consumer = this.kafka.consumer({
      groupId: options.source.consumerGroupId,
      // Small fetches: kafkajs decodes a whole fetch response in one synchronous run, during which no poller's
      // write is sent or acknowledged. Measured in the bench's pipeline phase: the event loop's longest stall was
      // 344 ms with 6 MB a partition and 210 ms with 512 KB (1.5 MB a fetch); its p99, about 80 ms either way, is
      // the handler's own synchronous work per batch. The batcher collects fetches into batches, and its
      // back-pressure bounds what waits in memory.
      maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
      maxBytes: 3 * FETCH_BYTES_PER_PARTITION,
      // A runner that dies holds its partitions until its session expires: keep that short (kafkajs's default is
      // 30 s), with a heartbeat every second so a busy but live runner is never taken for dead.
      sessionTimeout: options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      heartbeatInterval: 1000,
      // How long a fetch waits for records, and how long kafkajs sleeps when every partition is paused (full
      // pollers): with its default of 5 s, a partition resumed just after that sleep began waited up to 5 s for
      // its next fetch (measured in issue 12's trace). Records that are there come back at once either way.
      maxWaitTimeInMs: 250,
      metadataMaxAge: options.partitionDiscoveryMs ?? PARTITION_DISCOVERY_MS,
    });
    this.eventSourceArn = `arn:local:kafka:${options.brokers.join(',')}:group/${options.source.consumerGroupId}`;
    const envelope = toMskEvent([], {
      eventSourceArn: this.eventSourceArn,
      bootstrapServers: options.brokers.join(','),
    });
    this.newBatcher = (share) =>
      new MicroBatcher(
        options.source.batchSize,
        options.source.maxBatchingWindowSeconds * 1000,
        options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES,
        // Room for the "<topic>-<partition>" keys of a few partitions.
        eventPayloadBytes(envelope) + 64 * 16,
        options.source.filters,
        share,
      );
    this.maxPollers =
      options.pollers ?? options.source.provisionedPollers?.maximumPollers ?? DEFAULT_LOCAL_POLLERS;
    if (!(this.maxPollers >= 1))
      throw new RangeError(`The runner's pollers must be at least 1, received ${this.maxPollers}.`);
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = Object.values(payload.memberAssignment).reduce((n, list) => n + list.length, 0);
      this.expectedPollers = Math.max(1, Math.min(this.maxPollers, partitions));
    });
    // kafkajs restarts its consumer after a retriable error, but after any other (a record batch it cannot decode,
    // an authorization refused) the consumer is gone while the pollers wait for records that never come. Stop
    // instead, saying why: the batch in flight finishes, and what was fetched but not committed comes back.
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.stopping) return;
      this.crash = payload.error;
      this.log({
        level: 'ERROR',
        message:
          'the Kafka consumer stopped on an error kafkajs does not retry; the runner stops (the batch in flight ' +
          'finishes, and what was not committed comes back on the next start): fix the cause, then start again',
        job: options.jobName,
        error: errorText(payload.error),
      });
      void this.stop();
    });
    // A fetch of control records only (transaction markers, aborted records) reaches no eachBatch: kafkajs says so
    // with this event alone, and a runner that stops when caught up must count it (`isCaughtUp`).
    this.consumer.on(this.consumer.events.START_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0) return;
      this.fetched(`${payload.topic}-${payload.partition}`, BigInt(payload.lastOffset) + 1n);
      if (this.started && !this.stopping && this.isCaughtUp()) void this.stop();
    });
    this.stopped = new Promise((resolve) => (this.stoppedResolve = resolve));
  }

  private fetched(key: string, upTo: bigint): void {
    if (upTo > (this.fetchedUpTo.get(key) ?? 0n)) this.fetchedUpTo.set(key, upTo);
  }

  /** Why the runner stopped by itself: the error its Kafka consumer stopped on (see the constructor). */
  get failure(): Error | undefined {
    return this.crash;
  }

  /**
   * The poller of a partition: the one it was given first, or a new poller while there are fewer than the
   * maximum, or the poller with the fewest partitions. A partition stays with its poller, so its batches never
   * overlap.
   */
  private pollerFor(topic: string, partition: number): Poller {
    const key = `${topic}-${partition}`;
    let poller = this.pollerOf.get(key);
    if (poller) return poller;
    if (this.pollers.length < this.maxPollers) {
      const share = firstBatchShare(this.pollers.length, this.expectedPollers);
      poller = { batcher: this.newBatcher(share), partitions: 0, loop: undefined };
      this.pollers.push(poller);
      if (this.started) this.startLoop(poller);
    } else {
      poller = this.pollers.reduce((a, b) => (b.partitions < a.partitions ? b : a));
    }
    poller.partitions++;
    this.pollerOf.set(key, poller);
    return poller;
  }

  private startLoop(poller: Poller): void {
    poller.loop = this.batchLoop(poller.batcher).catch((error: unknown) => {
      this.log({
        level: 'ERROR',
        message: 'the batch loop stopped',
        job: this.options.jobName,
        error: errorText(error),
      });
    });
  }

  /**
   * Joins the group and starts the batch loop. Retriable Kafka errors (a coordinator not elected yet, a broker
   * restarting) are retried with backoff for up to a minute, saying what it waits for.
   */
  async start(): Promise<void> {
    if (this.options.staticMembership !== false) {
      const slot = claimInstanceSlot(
        this.options.source.consumerGroupId,
        `microbatch-runner-${this.options.jobName}`,
        this.options.staticMembership?.slotDir,
      );
      const unregister = useStaticMembership(this.clientId, slot.instanceId);
      this.membership = {
        release: () => {
          unregister();
          slot.release();
        },
      };
    }
    try {
      await this.join();
    } catch (error) {
      this.membership?.release();
      this.membership = undefined;
      throw error;
    }
  }

  private async join(): Promise<void> {
    await withKafkaRetry('find the consumer group', () => this.prepareOffsets(), this.log);
    await withKafkaRetry(
      'join the consumer group',
      async () => {
        await this.consumer.connect();
        for (const topic of this.options.topics) {
          // A partition without a committed offset starts at its earliest record: a partition added to the topic
          // after the group began would otherwise start at its end with LATEST, and the records sent to it
          // before the runner saw it would be lost unnoticed (no checkpoint marks them). A new group's LATEST is
          // its committed start instead (`prepareOffsets`). Spark reads a newly discovered partition from its
          // earliest offset too: https://spark.apache.org/docs/latest/structured-streaming-kafka-integration.html
          await this.consumer.subscribe({ topic, fromBeginning: true });
        }
      },
      this.log,
    );
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 64,
      eachBatch: async ({ batch, resolveOffset, pause }) => {
        if (!batch.messages.length || this.stopping) return;
        const records = batch.messages.map((m) => toKafkaRecord(batch.topic, batch.partition, m));
        this.options.observer?.fetched?.(
          batch.topic,
          batch.partition,
          records[records.length - 1]!.offset,
          records.length,
          Date.now(),
        );
        const { batcher } = this.pollerFor(batch.topic, batch.partition);
        // Hand the records over and let kafkajs fetch on while they wait for their batch: the event source
        // mapping keeps polling during its window too. `resolveOffset` only moves kafkajs's fetch position;
        // offsets are committed by `commit()`, after the handler succeeded (autoCommit is off).
        void batcher.enqueue(records);
        const key = `${batch.topic}-${batch.partition}`;
        this.enqueuedUpTo.set(key, records[records.length - 1]!.offset + 1n);
        this.fetched(key, BigInt(batch.lastOffset()) + 1n);
        resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
        // Back-pressure per partition: a full poller pauses its own partition and kafkajs goes on fetching the
        // others. Waiting here instead would hold kafkajs's whole fetch loop (it fetches again only once every
        // eachBatch has returned), and a poller with room would starve behind a full one: measured, the third
        // partition's first batch came 2.8 s after the others' (issue 12).
        if (batcher.full) batcher.whenRoom(pause());
      },
    });
    this.started = true;
    for (const poller of this.pollers) if (!poller.loop) this.startLoop(poller);
    if (this.isCaughtUp()) void this.stop();
  }

  /**
   * Where a new group starts (`startingPosition`), and, for a runner that stops by itself, the offsets that
   * count as caught up. A group with committed offsets resumes from them.
   */
  private async prepareOffsets(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { startingPosition, startingPositionTimestamp, consumerGroupId } = this.options.source;
      if (startingPosition !== 'TRIM_HORIZON') {
        const offsets = await admin.fetchOffsets({
          groupId: consumerGroupId,
          topics: [...this.options.topics],
        });
        // Only a group with nothing committed is new. Asked first, a restart (a group with offsets) pays this read
        // alone: describing the group before it took the bench's restart from 364-416 to 737-766 ms to its first
        // batch (its restart phase alone, five runs of the two codes in turn).
        const fresh = offsets.filter(({ partitions }) => partitions.every((p) => p.offset === '-1'));
        // A member of the group that already runs (another runner of the job) has set its start, and Kafka
        // refuses to set a group's offsets while it has members.
        const [group] = fresh.length ? (await admin.describeGroups([consumerGroupId])).groups : [];
        const running = group !== undefined && group.state !== 'Empty' && group.state !== 'Dead';
        for (const { topic } of running ? [] : fresh) {
          const seek =
            startingPosition === 'AT_TIMESTAMP'
              ? await admin.fetchTopicOffsetsByTimestamp(topic, startingPositionTimestamp! * 1000)
              : (await admin.fetchTopicOffsets(topic)).map((p) => ({
                  partition: p.partition,
                  offset: p.high,
                }));
          await admin.setOffsets({
            groupId: consumerGroupId,
            topic,
            partitions: seek.map((x) => ({ partition: x.partition, offset: x.offset })),
          });
        }
      }
      if (this.options.stopWhenCaughtUp) {
        this.endOffsets = new Map();
        for (const topic of this.options.topics) {
          for (const p of await admin.fetchTopicOffsets(topic)) {
            this.endOffsets.set(`${topic}-${p.partition}`, BigInt(p.high));
            // A partition with nothing left to read (empty, or truncated by retention) counts as caught up
            // from its low watermark: it will never deliver a record to commit.
            this.handledUpTo.set(`${topic}-${p.partition}`, BigInt(p.low));
          }
        }
        const group = await admin.fetchOffsets({
          groupId: consumerGroupId,
          topics: [...this.options.topics],
        });
        for (const t of group)
          for (const p of t.partitions)
            if (p.offset !== '-1') this.handledUpTo.set(`${t.topic}-${p.partition}`, BigInt(p.offset));
      }
    } finally {
      await admin.disconnect();
    }
  }

  private async batchLoop(batcher: MicroBatcher): Promise<void> {
    while (!this.stopping) {
      const items = await batcher.next(() => this.stopping);
      if (!items.length) continue;
      const records = items.filter((i) => !i.filtered).map((i) => i.record);
      try {
        if (records.length) await this.handle(records);
      } catch (error) {
        // Either a stop arrived while the batch kept failing (it stays uncommitted and comes back on the
        // next start), or its on-failure record could not be written (then nothing may be committed either).
        this.log({
          level: 'ERROR',
          message: 'batch left uncommitted',
          job: this.options.jobName,
          error: errorText(error),
        });
        if (this.stopping) {
          this.stats.uncommittedAtStop++;
          return;
        }
        batcher.requeue(items);
        await this.retryWait(1000);
        // A stop before the next attempt leaves the batch uncommitted as surely as one during it.
        if (this.stopping) {
          this.stats.uncommittedAtStop++;
          return;
        }
        continue;
      }
      try {
        // Filtered records are committed past with the records around them, as the event source does.
        await this.commit(items.map((i) => i.record));
      } catch (error) {
        // The effects and checkpoints are in Cassandra; an uncommitted Kafka offset only means these records
        // come back after a restart or rebalance, and the checkpoints skip them.
        this.log({
          level: 'WARN',
          message: 'offset commit failed; the records will be redelivered and skipped as duplicates',
          job: this.options.jobName,
          error: errorText(error),
        });
      }
      MicroBatcher.settle(items);
      if (this.isCaughtUp()) void this.stop();
    }
  }

  /**
   * Every partition handled up to its end at the start, or read to it with every record fetched handled: the rest
   * up to the end is control records (a transaction's marker, or its aborted records), which no batch delivers.
   */
  private isCaughtUp(): boolean {
    if (!this.endOffsets) return false;
    for (const [key, end] of this.endOffsets) {
      const handled = this.handledUpTo.get(key) ?? 0n;
      if (end === 0n || handled >= end) continue;
      const readToEnd = (this.fetchedUpTo.get(key) ?? 0n) >= end;
      if (!readToEnd || handled < (this.enqueuedUpTo.get(key) ?? 0n)) return false;
    }
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
        await this.invokeWithinTimeout(event);
        this.stats.batches++;
        this.stats.records += records.length;
        return;
      } catch (error) {
        const invokes = approximateInvokeCount + attempt;
        const oldest = Math.min(...records.map((r) => r.timestamp));
        const tooOld = maxRecordAgeSeconds !== -1 && Date.now() - oldest > maxRecordAgeSeconds * 1000;
        const exhausted = retryAttempts !== -1 && attempt > retryAttempts;
        // Records past the maximum age are not sent to the function again, halved or not.
        const bisect = bisectBatchOnError && records.length > 1 && !tooOld;
        const retrying = !exhausted && !tooOld && !bisect && !this.stopping;
        const retryInMs = Math.min(MAX_RETRY_DELAY_MS, base * 2 ** (attempt - 1));
        this.log({
          level: 'WARN',
          message: retrying ? `handler failed; retrying in ${retryInMs} ms` : 'handler failed',
          job: this.options.jobName,
          attempt,
          records: records.length,
          // Which records, as the on-failure record would name them: `<topic>-<partition>: [first, last]`.
          offsets: offsetRangesOf(records),
          ...(retrying && { retryInMs }),
          error: errorText(error),
        });
        if (bisect) {
          // A stop does not wait for the halves either: the batch stays uncommitted and comes back whole.
          if (this.stopping) throw error;
          const half = Math.ceil(records.length / 2);
          await this.handle(records.slice(0, half), invokes);
          await this.handle(records.slice(half), invokes);
          return;
        }
        // A graceful stop does not wait for a failing batch to recover: it stays uncommitted and comes back.
        if (this.stopping && !exhausted && !tooOld) throw error;
        if (exhausted || tooOld) {
          const condition = tooOld ? 'RecordAgeExceeded' : 'RetryAttemptsExhausted';
          await this.sendToOnFailure(event, records, error, invokes, condition);
          return;
        }
        await this.retryWait(retryInMs);
        // A stop during the wait: the batch is not tried again, it stays uncommitted and comes back.
        if (this.stopping) throw error;
      }
    }
  }

  /** One invocation, given up on (rejected) at the function's timeout, with the context's clock set to it. */
  private invokeWithinTimeout(event: MSKEvent): Promise<unknown> {
    const timeoutMs = this.options.functionTimeoutMs ?? CONSUMER_TIMEOUT_SECONDS * 1000;
    const functionName = `microbatch-${this.options.jobName}`;
    const invocation = this.options.invoke(event, localInvocationContext(functionName, { timeoutMs }));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const startedAt = Date.now() - timeoutMs;
        // The abandoned invocation's end is logged, never thrown: nobody awaits it any more.
        invocation.then(
          () => this.abandonedInvocationEnded(startedAt),
          (error: unknown) => this.abandonedInvocationEnded(startedAt, error),
        );
        reject(new FunctionTimeoutError(timeoutMs));
      }, timeoutMs);
    });
    return Promise.race([invocation, timedOut]).finally(() => clearTimeout(timer));
  }

  private abandonedInvocationEnded(startedAt: number, error?: unknown): void {
    this.log({
      level: 'WARN',
      message: 'an invocation given up on at the function timeout has ended',
      job: this.options.jobName,
      afterMs: Date.now() - startedAt,
      ...(error !== undefined && { error: errorText(error) }),
    });
  }

  /** The wait before a retry, which a graceful stop cuts short (see `handle`). */
  private retryWait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeRetries.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeRetries.add(done);
    });
  }

  /**
   * The on-failure record Lambda sends an SQS or SNS destination for a Kafka event source: one per failed
   * invocation, with the first and last offset of each partition under `KafkaBatchInfo.recordsInfo`.
   * https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html
   */
  private async sendToOnFailure(
    event: MSKEvent,
    records: readonly KafkaRecord[],
    error: unknown,
    invokes: number,
    condition: string,
  ): Promise<void> {
    this.stats.failedBatches++;
    this.stats.failedRecords += records.length;
    const recordsInfo: Record<string, Record<string, string>> = {};
    for (const r of records) {
      const key = `${r.topic}-${r.partition}`;
      const info = (recordsInfo[key] ??= {
        firstRecordOffset: r.offset.toString(),
        firstRecordTimestamp: new Date(r.timestamp).toISOString(),
      });
      info.lastRecordOffset = r.offset.toString();
      info.lastRecordTimestamp = new Date(r.timestamp).toISOString();
    }
    await mkdir(this.options.onFailureDir, { recursive: true });
    const file = onFailureFile(this.options.onFailureDir, this.options.jobName);
    const line = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: `local:${this.options.jobName}`,
        condition,
        approximateInvokeCount: invokes,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: new Date().toISOString(),
      KafkaBatchInfo: {
        batchSize: records.length,
        eventSourceArn: event.eventSourceArn,
        bootstrapServers: event.bootstrapServers,
        payloadSize: eventPayloadBytes(event),
        recordsInfo,
      },
    };
    await appendFile(file, `${JSON.stringify(line)}\n`);
    this.log({
      level: 'ERROR',
      message: 'batch sent to the on-failure destination; its offsets wait in skipped_ranges for a redrive',
      job: this.options.jobName,
      condition,
      records: records.length,
      error: errorText(error),
      file,
      redrive: `microbatch redrive ${this.options.jobName}`,
    });
  }

  private async commit(records: readonly KafkaRecord[]): Promise<void> {
    // The last record of each partition's run: a batch holds each partition's records together, so a key and an
    // entry per record (10,000 a batch) would be spent on the same few partitions.
    const next = new Map<string, { topic: string; partition: number; offset: bigint }>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const following = records[i + 1];
      if (following && following.partition === r.partition && following.topic === r.topic) continue;
      const key = `${r.topic}-${r.partition}`;
      const offset = r.offset + 1n;
      const seen = next.get(key);
      if (!seen || offset > seen.offset) next.set(key, { topic: r.topic, partition: r.partition, offset });
    }
    for (const [key, n] of next) this.handledUpTo.set(key, n.offset);
    await this.consumer.commitOffsets(
      [...next.values()].map((n) => ({
        topic: n.topic,
        partition: n.partition,
        offset: n.offset.toString(),
      })),
    );
  }

  /**
   * Graceful stop, like Spark's `stop(stopGracefully=True)`: no new fetches, the batch in flight finishes and
   * is committed, records fetched but not yet batched stay uncommitted (they come back on restart).
   */
  async stop(): Promise<void> {
    if (this.stopping) return this.stopped;
    this.stopping = true;
    for (const wake of [...this.wakeRetries]) wake();
    try {
      await Promise.all(this.pollers.map((p) => p.loop));
      for (const poller of this.pollers) poller.batcher.abandon();
      await this.consumer.disconnect();
      // The member has left the group: its slot is free for the next runner.
      this.membership?.release();
    } finally {
      this.stoppedResolve?.();
    }
    return this.stopped;
  }
}

/** Where the local runner writes a job's on-failure records, one JSON line each. */
export function onFailureFile(dir: string, job: string): string {
  return join(dir, `${job}.jsonl`);
}
