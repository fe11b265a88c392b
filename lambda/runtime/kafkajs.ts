/**
 * kafkajs as every module of this project uses it: the package itself, with one fix applied before any client
 * connects. Import kafkajs's values from here, not from 'kafkajs' (eslint's no-restricted-imports holds that; type
 * imports may name 'kafkajs').
 *
 * The fix: kafkajs 2.2.4's request queue checks for pending requests again after every response, and schedules that
 * check with `setTimeout(check, throttledUntil - Date.now())`. `throttledUntil` starts at -1, so with nothing
 * throttled or queued the delay is minus the epoch: Node runs it after 1 ms, and the check schedules itself again.
 * Every connection that has answered one request then wakes its process a thousand times a second for as long as it
 * is open (measured: an idle producer on the local broker, 8,736 wake-ups and 312 ms of CPU in 5 s; 0 and 22 ms
 * with the fix), and Node 24, the functions' runtime, prints a `TimeoutNegativeWarning` for it.
 * https://github.com/tulios/kafkajs/issues/1751 (open; its fixes, #1755 and #1768, are not merged).
 *
 * And the codecs: kafkajs reads gzip record batches only; kafka-codecs.ts adds snappy, LZ4 and zstd.
 */
import { CompressionCodecs, CompressionTypes, type Admin, type Kafka } from 'kafkajs';
import { CODECS } from './kafka-codecs';

/** The part of kafkajs's internal request queue the fix touches. */
export interface RequestQueueLike {
  pending: readonly unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const PATCHED = Symbol.for('microbatch.kafkajs.idleCheckPatched');

/**
 * Makes the queue schedule its check only when there is something to wait for: a queued request (kafkajs's own
 * scheduling then, unchanged) or a throttle still running. With neither, nothing can become sendable later: a new
 * request is sent at once, or queued by `push`, which schedules the check itself. Returns false when there was
 * nothing to patch (already patched, or a kafkajs whose queue no longer looks like this one).
 */
export function scheduleChecksOnlyWhenNeeded(queue: { prototype: RequestQueueLike }): boolean {
  const proto = queue.prototype as RequestQueueLike & { [PATCHED]?: true };
  const schedule = proto.scheduleCheckPendingRequests;
  if (typeof schedule !== 'function' || proto[PATCHED]) return false;
  proto.scheduleCheckPendingRequests = function scheduleWhenNeeded(this: RequestQueueLike): void {
    const idle =
      Array.isArray(this.pending) &&
      this.pending.length === 0 &&
      typeof this.throttledUntil === 'number' &&
      this.throttledUntil <= Date.now();
    if (!idle) schedule.call(this);
  };
  proto[PATCHED] = true;
  return true;
}

// Internal to kafkajs (pinned exactly in package.json): the queue its connections use, the same module instance in
// node_modules and in a bundle, where esbuild resolves this require to the file kafkajs's own code requires.
// eslint-disable-next-line @typescript-eslint/no-require-imports
scheduleChecksOnlyWhenNeeded(require('kafkajs/src/network/requestQueue') as { prototype: RequestQueueLike });

// kafkajs's documented way to add a codec: https://kafka.js.org/docs/producing#compression
CompressionCodecs[CompressionTypes.Snappy] = CODECS.Snappy;
CompressionCodecs[CompressionTypes.LZ4] = CODECS.LZ4;
CompressionCodecs[CompressionTypes.ZSTD] = CODECS.ZSTD;

export * from 'kafkajs';

/** Connects an admin of `kafka`, runs `fn` with it, and disconnects it whatever happens. */
export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}
