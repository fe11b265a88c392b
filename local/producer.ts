/**
 * The local producers.
 * - `tutorial`: the current time, once a second (or `rate` a second), to topic `test`, in the tutorial format.
 * - `load`: `count` records at `rate` a second. Send times are ISO-8601 with microseconds, strictly increasing,
 *   so every record has its own `time_sent` row; `payloadBytes` pads the value with trailing spaces, which the
 *   job trims.
 * - `sensor`: JSON readings `{sensorId, ts, value}` for the sensor-stats job, spread over `keys` sensors.
 */
import { Kafka, logLevel, CompressionTypes, type Producer } from 'kafkajs';
import { formatTime } from '../lambda/jobs/time-format';

export type ProduceMode = 'tutorial' | 'load' | 'sensor';

export interface ProduceOptions {
  readonly brokers: readonly string[];
  readonly mode: ProduceMode;
  /** @default - 'test' for tutorial and load, 'sensor-readings' for sensor */
  readonly topic?: string;
  /** Records a second. @default 1 for tutorial, 1000 otherwise */
  readonly rate?: number;
  /** Records in all. @default - unlimited for tutorial (until the signal), 10,000 otherwise */
  readonly count?: number;
  /** Distinct keys; 0 sends null keys. @default 0 (tutorial, load), 10 (sensor) */
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
  const mode = options.mode;
  const topic = options.topic ?? (mode === 'sensor' ? 'sensor-readings' : 'test');
  const rate = options.rate ?? (mode === 'tutorial' ? 1 : 1000);
  const total = options.count ?? (mode === 'tutorial' ? undefined : 10_000);
  const keys = options.keys ?? (mode === 'sensor' ? 10 : 0);
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
      // The tutorial's values are the current second: after a stall, catching up would send several records
      // with the same value, which are one row. It skips the missed seconds instead, as a clock would.
      if (mode === 'tutorial' && n > Math.ceil(rate)) {
        skipped += n - Math.ceil(rate);
        n = Math.ceil(rate);
      }
      if (n > 0) {
        const messages = [];
        for (let i = 0; i < n; i++) {
          const index = sent + i;
          const value =
            mode === 'tutorial'
              ? formatTime(new Date(), 'tutorial')
              : mode === 'load'
                ? clock.now()
                : JSON.stringify({
                    sensorId: `sensor-${index % Math.max(1, keys)}`,
                    ts: Date.now(),
                    value: Math.round(Math.sin(index / 10) * 1000) / 100 + 20,
                  });
          if (keep) values.push(value);
          messages.push({
            key: keyFor(index, mode === 'sensor' ? Math.max(1, keys) : keys),
            value: pad(value, options.payloadBytes),
          });
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

/** A one-line progress bar on stderr. */
export function progressBar(label: string): (sent: number, total: number | undefined) => void {
  const started = Date.now();
  return (sent, total) => {
    const rate = sent / Math.max(0.001, (Date.now() - started) / 1000);
    const width = 30;
    const bar = total
      ? `[${'#'.repeat(Math.round((sent / total) * width)).padEnd(width, ' ')}] ${((sent / total) * 100).toFixed(0).padStart(3)}%`
      : '';
    process.stderr.write(
      `\r${label} ${bar} ${sent}${total ? `/${total}` : ''} records, ${rate.toFixed(0)}/s   `,
    );
    if (total && sent >= total) process.stderr.write('\n');
  };
}
