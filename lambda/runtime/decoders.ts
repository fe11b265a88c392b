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

/**
 * Decodes the value as strict UTF-8 text. A null value, an oversized value or invalid UTF-8 is dead-lettered
 * with its reason (`null-value`, `oversized`, `invalid-utf8`).
 *
 * @example
 * ```ts
 * defineTransformJob({ name: 'lines', topics: ['lines'], decoder: utf8(), sinkTables: [LINES],
 *   transform: (line) => [{ table: LINES, values: { line } }] });
 * ```
 */
export function utf8(options?: DecoderOptions): Decoder<string> {
  return { kind: 'utf8', decode: (record) => utf8Text(requireValue(record, options)) };
}

/**
 * The value's bytes as they are (only the null and size checks apply).
 *
 * @example
 * ```ts
 * decoder: raw({ maxValueBytes: 64_000 }), // then parse Avro or Protobuf in the transform
 * ```
 */
export function raw(options?: DecoderOptions): Decoder<Buffer> {
  return { kind: 'raw', decode: (record) => requireValue(record, options) };
}

/**
 * A validator checks an `unknown` and returns the typed value, or throws `SchemaViolation` naming the path.
 * Dependency-free: a handler bundle need not carry a schema library for three fields.
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

/**
 * The Standard Schema interface (https://standardschema.dev, v1), which zod (3.24+), valibot (1.0+), arktype
 * (2.0+) and others implement. Declared here, as the spec intends, so that accepting it costs no dependency
 * and nothing in a bundle that does not use it.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> };

export interface StandardSchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The output type of a Standard Schema. */
export type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as Partial<StandardSchemaV1>)['~standard']?.validate === 'function'
  );
}

/** `$.readings[2].value`, the path notation of `SchemaViolation`. */
function issuePath(path: StandardSchemaIssue['path']): string {
  let out = '$';
  for (const part of path ?? []) {
    const key = typeof part === 'object' ? part.key : part;
    out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  }
  return out;
}

/** A Standard Schema as a `Validator`: the first issue becomes the `SchemaViolation`. */
export function fromStandardSchema<S extends StandardSchemaV1>(schema: S): Validator<InferOutput<S>> {
  const vendor = schema['~standard'].vendor;
  return (value) => {
    const result = schema['~standard'].validate(value);
    if (result instanceof Promise) {
      // A decoder must be pure and synchronous (a replay must decide the same, at once); see the README.
      throw new TypeError(
        `The ${vendor} schema validates asynchronously; a decoder needs a synchronous schema (no async refinements).`,
      );
    }
    if (result.issues) {
      const [first] = result.issues;
      const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more)` : '';
      throw new SchemaViolation(issuePath(first?.path), `${first?.message ?? 'invalid'}${more}`);
    }
    return result.value as InferOutput<S>;
  };
}

/**
 * Decodes the value as UTF-8 JSON and checks it with a validator: a function that returns the typed value or
 * throws `SchemaViolation`, or any Standard Schema (zod, valibot, arktype ...). A value that is not JSON is
 * dead-lettered as `invalid-json`, one the validator refuses as `schema`, with the path and the problem.
 *
 * @example
 * ```ts
 * // With zod (any Standard Schema library works the same):
 * const Click = z.object({ url: z.string().url(), ts: z.number().int() });
 * decoder: json(Click), // Decoder<{ url: string; ts: number }>
 *
 * // Or with no library at all:
 * decoder: json((v) => {
 *   if (typeof v !== 'object' || v === null) throw new SchemaViolation('$', 'expected an object');
 *   return v as Click;
 * }),
 * ```
 */
export function json<S extends StandardSchemaV1>(
  schema: S,
  options?: DecoderOptions,
): Decoder<InferOutput<S>>;
export function json<T>(validate: Validator<T>, options?: DecoderOptions): Decoder<T>;
export function json<T>(
  validator: Validator<T> | StandardSchemaV1<unknown, T>,
  options?: DecoderOptions,
): Decoder<T> {
  const validate: Validator<T> = isStandardSchema(validator)
    ? (fromStandardSchema(validator) as Validator<T>)
    : validator;
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
