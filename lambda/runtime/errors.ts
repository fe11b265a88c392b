/**
 * The runtime's errors. Each sets `name`, passes `cause`, and says whether retrying can help, so the caller
 * knows whether to fail the batch (retriable: the event source retries it) or to dead-letter the record.
 */

export abstract class MicroBatchError extends Error {
  abstract readonly retriable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Where the MSK event's shape is documented: what a consumer must be invoked with. */
export const MSK_EVENT_DOC = 'https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html#msk-sample-event';

/**
 * The Lambda event is not an MSK event. `path` names the field at fault, e.g. `records["test-0"][2].offset`, and
 * the message ends with what the function must be invoked with: a test event or a direct invocation is the usual
 * cause, since the event source mapping only sends this shape.
 */
export class EventShapeError extends MicroBatchError {
  readonly retriable = false;
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(
      `Malformed MSK event at ${path}: ${problem}${/[.!?]$/.test(problem) ? '' : '.'} A consumer takes the events ` +
        `of its Kafka event source mapping (Amazon MSK or self-managed Kafka); invoke it with one: ${MSK_EVENT_DOC}`,
    );
  }
}

/** Why a single record cannot be applied; it goes to the dead letters with `reason`. */
export const DEAD_LETTER_REASONS = [
  'null-value',
  'oversized',
  'invalid-utf8',
  'invalid-json',
  'schema',
  'late',
  'future',
  'sink-rejected',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** A record that cannot be decoded, validated or written. Never retriable: retrying gives the same answer. */
export class RecordError extends MicroBatchError {
  readonly retriable = false;
  constructor(
    readonly reason: DeadLetterReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A sink failure. Timeouts, overload and unavailability are retriable; the rest dead-letter the record. */
export class SinkError extends MicroBatchError {
  constructor(
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Records below the batch's first offset were never applied (a batch the event source gave up on, or Kafka's
 * retention) and `failOnDataLoss` is on: the batch fails every time, so the partition halts, as Spark fails the
 * query.
 */
export class DataLossError extends MicroBatchError {
  readonly retriable = false;
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly expectedOffset: bigint,
    readonly firstOffset: bigint,
  ) {
    super(
      `Data loss on ${topic}-${partition}: the checkpoint expects offset ${expectedOffset} but the batch starts at ` +
        `${firstOffset}, so ${firstOffset - expectedOffset} offset(s) were never applied (retention or a skipped ` +
        `batch; a transactional producer's markers and aborted records, or a compacted topic, leave such gaps ` +
        `too). The partition halts here. To go on, set failOnDataLoss=false: the gap is then kept as a skipped ` +
        `range and \`microbatch redrive\` applies whatever Kafka still has of it.`,
    );
  }
}

/** Another invocation kept winning the checkpoint race; the batch is retried by the event source. */
export class ContentionError extends MicroBatchError {
  readonly retriable = true;
}

/** The runtime was set up wrong (missing env, bad job config). */
export class RuntimeConfigError extends MicroBatchError {
  readonly retriable = false;
}

export function isRetriable(error: unknown): boolean {
  return error instanceof MicroBatchError && error.retriable;
}

/**
 * A value quoted in an error message: whole when short, else its first `max` characters (code points, so an
 * emoji is never cut in half) and how long it is, so that a cut value never reads as the whole one.
 */
export function quotedValue(text: string, max = 40): string {
  const points = Array.from(text);
  if (points.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(points.slice(0, max).join(''))}… (${points.length} characters)`;
}

/**
 * An error as one line of a log or a message: `Name: message`, and for an error that gathers others (the
 * Cassandra driver's `NoHostAvailableError` keeps each host's in `innerErrors`) each one's own. Not `String(error)`
 * alone: the driver formats its first inner error into its message with `util.format('%s')`, which prints that
 * error's whole stack, so a log line of a refused write ran over a dozen lines of the driver's frames.
 */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const inner: unknown = (error as { innerErrors?: unknown }).innerErrors;
  const causes =
    inner !== null && typeof inner === 'object'
      ? Object.entries(inner).map(
          ([where, e]) => `${where}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
        )
      : [];
  // The driver tried no host at all: it had marked every node it knows down after their connections failed, and
  // says only "All host(s) tried for query failed." (measured: a node whose connections were reset).
  if (!causes.length && error.name === 'NoHostAvailableError' && inner !== null && typeof inner === 'object')
    return (
      `${error.name}: ${error.message} No host was tried: the driver has marked every node down after its ` +
      'connections failed; check that Cassandra (or Keyspaces) is up and reachable from here.'
    );
  if (!causes.length) return `${error.name}: ${error.message}`;
  // The driver's own first line, without what it appended of the first inner error.
  const head = error.message.split(/ First host tried, /)[0]!.replace(/\.$/, '');
  return `${error.name}: ${head}: ${causes.join('; ')}`;
}
