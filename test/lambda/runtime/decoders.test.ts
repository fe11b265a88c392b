import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  fromStandardSchema,
  json,
  raw,
  SchemaViolation,
  utf8,
  type StandardSchemaV1,
} from '../../../lambda/runtime/decoders';
import type { KafkaRecord } from '../../../lambda/runtime/event';

function recordOf(value: Buffer | string | null): KafkaRecord {
  return {
    topic: 'clicks',
    partition: 0,
    offset: 7n,
    timestamp: 1_700_000_000_000,
    timestampType: 'CREATE_TIME',
    key: null,
    value: typeof value === 'string' ? Buffer.from(value) : value,
    headers: [],
  };
}

const ZodClick = z.object({ url: z.url(), ts: z.number().int(), tags: z.array(z.string()).optional() });
const ValibotClick = v.object({
  url: v.pipe(v.string(), v.url()),
  ts: v.pipe(v.number(), v.integer()),
  tags: v.optional(v.array(v.string())),
});

describe.each([
  ['zod', ZodClick],
  ['valibot', ValibotClick],
] as const)('json() with a %s schema (Standard Schema)', (vendor, schema) => {
  const decoder = json(schema as StandardSchemaV1<unknown, { url: string; ts: number; tags?: string[] }>);

  it('returns the parsed value the schema accepts', () => {
    expect(decoder.decode(recordOf('{"url":"https://example.com/a","ts":5}'))).toEqual({
      url: 'https://example.com/a',
      ts: 5,
    });
  });

  it('dead-letters a value the schema refuses as `schema`, naming the path of the first issue', () => {
    // GIVEN a record whose second tag is a number
    const bad = recordOf('{"url":"https://example.com/a","ts":5,"tags":["a",2]}');
    // WHEN it is decoded THEN the reason is schema and the message carries the JSON path
    expect(() => decoder.decode(bad)).toThrow(
      expect.objectContaining({
        reason: 'schema',
        message: expect.stringContaining('$.tags[1]'),
      }),
    );
  });

  it('counts the other issues, so a user knows there is more to fix than the first', () => {
    expect(() => decoder.decode(recordOf('{"url":"not a url","ts":1.5}'))).toThrow(
      expect.objectContaining({ reason: 'schema', message: expect.stringMatching(/\(and 1 more\)$/) }),
    );
  });

  it(`keeps the JSON and UTF-8 checks ahead of the ${vendor} schema`, () => {
    expect(() => decoder.decode(recordOf('{"url":'))).toThrow(
      expect.objectContaining({ reason: 'invalid-json' }),
    );
    expect(() => decoder.decode(recordOf(Buffer.from([0xff, 0xfe])))).toThrow(
      expect.objectContaining({ reason: 'invalid-utf8' }),
    );
    expect(() => decoder.decode(recordOf(null))).toThrow(expect.objectContaining({ reason: 'null-value' }));
  });
});

describe('json() types', () => {
  it('infers the decoded type from a Standard Schema', () => {
    const decoder = json(ZodClick);
    expectTypeOf(decoder.decode).returns.toEqualTypeOf<{
      url: string;
      ts: number;
      tags?: string[] | undefined;
    }>();
  });
});

describe('fromStandardSchema', () => {
  it('refuses an asynchronous schema with a message that says why, instead of returning a Promise', () => {
    const asyncSchema = z.string().refine(async () => true);
    const validate = fromStandardSchema(asyncSchema);
    expect(() => validate('x')).toThrow(/validates asynchronously; a decoder needs a synchronous schema/);
  });

  it('reports the root as `$` when an issue has no path', () => {
    const validate = fromStandardSchema(z.string());
    expect(() => validate(3)).toThrow(SchemaViolation);
    expect(() => validate(3)).toThrow(/^\$: /);
  });
});

describe('json() with a plain validator', () => {
  it('turns a SchemaViolation into a `schema` dead letter and lets other errors through (a bug, not bad data)', () => {
    const decoder = json((value: unknown) => {
      if (value === 'boom') throw new RangeError('a bug in the validator');
      if (typeof value !== 'number') throw new SchemaViolation('$', 'expected a number');
      return value;
    });
    expect(decoder.decode(recordOf('3'))).toBe(3);
    expect(() => decoder.decode(recordOf('"x"'))).toThrow(expect.objectContaining({ reason: 'schema' }));
    expect(() => decoder.decode(recordOf('"boom"'))).toThrow(RangeError);
  });
});

describe('utf8() and raw()', () => {
  it('refuses a value over maxValueBytes as `oversized`, naming both sizes', () => {
    expect(() => utf8({ maxValueBytes: 4 }).decode(recordOf('12345'))).toThrow(
      expect.objectContaining({
        reason: 'oversized',
        message: 'The value is 5 bytes; the limit is 4 bytes.',
      }),
    );
    expect(raw({ maxValueBytes: 5 }).decode(recordOf('12345'))).toEqual(Buffer.from('12345'));
  });
});
