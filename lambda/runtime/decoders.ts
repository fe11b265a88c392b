/**
 * Record decoders. A decoder turns one record's value into a typed value or throws a `RecordError` whose
 * reason is the dead-letter reason. Decoders are pure: the same bytes always give the same answer, which the
 * exactly-once protocol relies on when a batch is replayed.
 */
import { TextDecoder } from 'node:util';
import { RecordError } from './errors';
import type { KafkaRecord } from './event';

export interface Decoder<T> {
  readonly kind: 'utf8' | 'json' | 'raw';
  decode(record: KafkaRecord): T;
}

/** Keyspaces rows are at most 1 MB; a value larger than this can never be stored. */
export const DEFAULT_MAX_VALUE_BYTES = 1_000_000;

export interface DecoderOptions {
  /** @default - 1,000,000 bytes: the Keyspaces row limit. */
  readonly maxValueBytes?: number;
}

function requireValue(record: KafkaRecord, options: DecoderOptions | undefined): Buffer {
  if (record.value === null) {
    throw new RecordError(
      'null-value',
      'The record has a null value; this job needs one. Produce a value or filter tombstones upstream.',
    );
  }
  const max = options?.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  if (record.value.length > max) {
    throw new RecordError(
      'oversized',
      `The value is ${record.value.length} bytes; the limit is ${max} bytes.`,
    );
  }
  return record.value;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8Text(bytes: Buffer): string {
  try {
    return strictUtf8.decode(bytes);
  } catch (cause) {
    throw new RecordError('invalid-utf8', 'The value is not valid UTF-8.', { cause });
  }
}

export function utf8(options?: DecoderOptions): Decoder<string> {
  return { kind: 'utf8', decode: (record) => utf8Text(requireValue(record, options)) };
}

export function raw(options?: DecoderOptions): Decoder<Buffer> {
  return { kind: 'raw', decode: (record) => requireValue(record, options) };
}

/**
 * A validator checks an `unknown` and returns the typed value, or throws `SchemaViolation` naming the path.
 * Kept dependency-free on purpose: a handler bundle should not carry a schema library for three fields.
 */
export type Validator<T> = (value: unknown) => T;

export class SchemaViolation extends Error {
  override readonly name = 'SchemaViolation';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

export function json<T>(validate: Validator<T>, options?: DecoderOptions): Decoder<T> {
  return {
    kind: 'json',
    decode(record) {
      const text = utf8Text(requireValue(record, options));
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (cause) {
        throw new RecordError('invalid-json', `The value is not JSON: ${(cause as Error).message}`, {
          cause,
        });
      }
      try {
        return validate(parsed);
      } catch (cause) {
        if (cause instanceof SchemaViolation) {
          throw new RecordError('schema', `The value does not match the schema at ${cause.message}`, {
            cause,
          });
        }
        throw cause;
      }
    },
  };
}
