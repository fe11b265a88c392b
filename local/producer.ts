/**
 * The local producers.
 * - `sample`: a job's demo data (`sample` of its definition, e.g. the tutorial's current time once a second),
 *   to the job's topic, until the signal or `count`.
 * - `load`: `count` records at `rate` a second for the tutorial job. Send times are ISO-8601 with microseconds,
 *   strictly increasing, so every record has its own `time_sent` row; `payloadBytes` pads the value with trailing
 *   spaces, which the job trims.
 * - `produceValue`: a value of one's own, as it is (`produce --value`), such as a malformed record.
 */
import { Kafka, logLevel, CompressionTypes, withAdmin, type Producer } from '../lambda/runtime/kafkajs';
import type { SampleData } from '../lambda/runtime/job';

export type ProduceMode = 'sample' | 'load';

export interface ProduceOptions {
  readonly brokers: readonly string[];
  readonly mode: ProduceMode;
  /** `sample`: the job's demo data; a `load` ignores it. */
  readonly sample?: SampleData;
  readonly topic: string;
  /** Records a second. @default - the sample's rate; 1000 for load */
  readonly rate?: number;
  /** Records in all. @default - unlimited for a sample (until the signal), 10,000 for load */
  readonly count?: number;
  /** `load`: distinct keys; 0 sends null keys. @default 0 */
  readonly keys?: number;
  /** Minimum value size in bytes. @default - no padding */
  readonly payloadBytes?: number;
  readonly signal?: AbortSignal;
  /** Called after each send with the records sent so far. */
  readonly onProgress?: (sent: number, total: number | undefined) => void;
  /**
   * An endless producer (no `count`) survives a Kafka outage: a failed send is reported here and the same
   * records are tried again at the next tick. A counted load fails instead. @default - a line on stderr
   */
  readonly onSendError?: (error: unknown) => void;
}

export interface ProduceResult {
  readonly sent: number;
  readonly seconds: number;
  /** The values sent, when `count` is at most 100,000 (what tests compare against). */
  readonly values: string[];
}

/** Strictly increasing ISO-8601 send times with microseconds, so two records never share a `time_sent`. */
export class SendClock {
  private lastMicros = 0n;
  now(): string {
    const micros = BigInt(Date.now()) * 1000n;
    this.lastMicros = micros > this.lastMicros ? micros : this.lastMicros + 1n;
    const ms = Number(this.lastMicros / 1000n);
    const iso = new Date(ms).toISOString(); // 2026-05-21T02:20:03.250Z
    return `${iso.slice(0, 23)}${(this.lastMicros % 1000n).toString().padStart(3, '0')}Z`;
  }
}

function pad(value: string, bytes: number | undefined): string {
  return bytes && value.length < bytes ? value.padEnd(bytes, ' ') : value;
}

export function keyFor(i: number, keys: number): string | null {
  return keys > 0 ? `key-${i % keys}` : null;
}

/** A producer's topic does not exist: the producers never create one (`allowAutoTopicCreation: false`). */
export class MissingTopicError extends Error {
  override readonly name = 'MissingTopicError';
}

/**
 * Refuses a topic the cluster does not have, with what to do, before a send would retry against it for half a
 * minute and end in kafkajs's stack trace. It lists the topics (a Metadata request for none in particular): asking
 * for the topic's own metadata would let a broker with auto-creation on create it.
 */
export async function assertTopicExists(brokers: readonly string[], topic: string): Promise<void> {
  const kafka = new Kafka({
    clientId: 'microbatch-producer',
    brokers: [...brokers],
    logLevel: logLevel.ERROR,
  });
  if ((await withAdmin(kafka, (admin) => admin.listTopics())).includes(topic)) return;
  throw new MissingTopicError(
    `Topic '${topic}' does not exist on ${brokers.join(', ')}: \`microbatch setup\` creates the jobs' topics; ` +
      "create any other topic before producing to it (Kafka's kafka-topics.sh --create).",
  );
}

export async function connectProducer(brokers: readonly string[]): Promise<Producer> {
  const producer = new Kafka({
    clientId: 'microbatch-producer',
    brokers: [...brokers],
    logLevel: logLevel.ERROR,
  }).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}

export async function produce(options: ProduceOptions): Promise<ProduceResult> {
  const { mode, topic } = options;
  // A load is the tutorial's strictly increasing send times whatever else is given: a sample's values repeat
  // within a second, and each repeat would overwrite the last one's row.
  const sample = mode === 'sample' ? options.sample : undefined;
  if (mode === 'sample' && !sample) throw new Error("produce: mode 'sample' needs the job's sample data.");
  const rate = options.rate ?? (sample ? sample.ratePerSecond : 1000);
  const total = options.count ?? (mode === 'sample' ? undefined : 10_000);
  const keys = options.keys ?? 0;
  if (!(rate > 0)) throw new Error(`rate must be a positive number of records a second, received ${rate}.`);
  if (total !== undefined && (!Number.isInteger(total) || total < 0))
    throw new Error(`count must be a non-negative integer, received ${total}.`);

  const producer = await connectProducer(options.brokers);
  const clock = new SendClock();
  const keep = total !== undefined && total <= 100_000;
  const values: string[] = [];
  const started = Date.now();
  let sent = 0;
  let skipped = 0;
  try {
    // Send in ticks of at most 100 ms, each with the records due by then: the rate holds without a timer per record.
    const tickMs = Math.max(100, Math.min(1000, 1000 / rate));
    while (!options.signal?.aborted && (total === undefined || sent < total)) {
      const due = Math.floor(((Date.now() - started) / 1000) * rate) + 1;
      let n = Math.min(
        Math.max(0, due - sent - skipped),
        total === undefined ? Infinity : total - sent,
        5000,
      );
      // A sample's values carry the current time (the tutorial's, the current second): after a stall, catching
      // up would send a burst of records with the same time. It skips the missed ticks instead, as a clock would.
      if (mode === 'sample' && n > Math.ceil(rate)) {
        skipped += n - Math.ceil(rate);
        n = Math.ceil(rate);
      }
      if (n > 0) {
        const messages = [];
        for (let i = 0; i < n; i++) {
          const index = sent + skipped + i;
          if (sample) {
            const record = sample.make(index, new Date());
            if (keep) values.push(record.value);
            messages.push({ key: record.key ?? null, value: record.value });
            continue;
          }
          const value = clock.now();
          if (keep) values.push(value);
          messages.push({ key: keyFor(index, keys), value: pad(value, options.payloadBytes) });
        }
        try {
          await producer.send({ topic, messages, compression: CompressionTypes.None });
          sent += n;
          options.onProgress?.(sent, total);
        } catch (error) {
          if (total !== undefined) throw error;
          if (keep) values.splice(values.length - n, n);
          (options.onSendError ?? ((e) => console.error(`producer: send failed, retrying: ${String(e)}`)))(
            error,
          );
        }
      }
      if (total !== undefined && sent >= total) break;
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
  } finally {
    await producer.disconnect();
  }
  return { sent, seconds: (Date.now() - started) / 1000, values };
}

/**
 * The bytes of values and keys one send of `produceValue` carries at most: under the 1 MB a broker accepts by
 * default (`message.max.bytes`); a single larger value goes alone, and the broker says if it is too large.
 */
const BYTES_PER_SEND = 512 * 1024;

/**
 * `produce --value`: one value of the user's own, as it is, `count` times. This is how to watch a malformed
 * record reach the dead letters while the rest of its batch goes on.
 */
export async function produceValue(options: {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly value: string;
  /** @default - a null key */
  readonly key?: string;
  /** @default 1 */
  readonly count?: number;
}): Promise<ProduceResult> {
  const count = options.count ?? 1;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`count must be a positive integer, received ${count}.`);
  const recordBytes = Buffer.byteLength(options.value) + Buffer.byteLength(options.key ?? '');
  const perSend = Math.max(1, Math.floor(BYTES_PER_SEND / Math.max(1, recordBytes)));
  const producer = await connectProducer(options.brokers);
  const started = Date.now();
  let sent = 0;
  try {
    while (sent < count) {
      const n = Math.min(perSend, count - sent);
      const messages = Array.from({ length: n }, () => ({ key: options.key ?? null, value: options.value }));
      await producer.send({ topic: options.topic, messages, compression: CompressionTypes.None });
      sent += n;
    }
  } finally {
    await producer.disconnect();
  }
  return { sent, seconds: (Date.now() - started) / 1000, values: [options.value] };
}
