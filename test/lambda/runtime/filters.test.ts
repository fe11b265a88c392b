import { describe, expect, it } from 'vitest';
import type { KafkaRecord } from '../../../lambda/runtime/event';
import { assertKafkaFilter, passesFilters, type FilterPattern } from '../../../lambda/runtime/filters';

const record = (value: string | Buffer | null): KafkaRecord => ({
  topic: 't',
  partition: 0,
  offset: 0n,
  timestamp: 0,
  timestampType: 'CREATE_TIME',
  key: null,
  value: typeof value === 'string' ? Buffer.from(value) : value,
  headers: [],
});

const reading = (fields: Record<string, unknown>) => record(JSON.stringify(fields));

describe('passesFilters (Lambda event filtering on the Kafka value)', () => {
  it('lets every record through when there is no filter', () => {
    expect(passesFilters([], record('anything'))).toBe(true);
  });

  it.each<[string, FilterPattern, Record<string, unknown>, boolean]>([
    ['equals', { value: { sensorId: ['s-1'] } }, { sensorId: 's-1' }, true],
    ['equals, no match', { value: { sensorId: ['s-1'] } }, { sensorId: 's-2' }, false],
    ['or within a list', { value: { sensorId: ['s-1', 's-2'] } }, { sensorId: 's-2' }, true],
    ['and across fields', { value: { a: [1], b: ['x'] } }, { a: 1, b: 'y' }, false],
    ['prefix', { value: { device_ID: [{ prefix: 'AB' }] } }, { device_ID: 'AB1234' }, true],
    ['suffix', { value: { file: [{ suffix: '.png' }] } }, { file: 'a.jpg' }, false],
    ['equals-ignore-case', { value: { s: [{ 'equals-ignore-case': 'on' }] } }, { s: 'ON' }, true],
    ['anything-but', { value: { s: [{ 'anything-but': ['off'] }] } }, { s: 'on' }, true],
    ['anything-but, excluded', { value: { s: [{ 'anything-but': 'off' }] } }, { s: 'off' }, false],
    ['numeric range', { value: { v: [{ numeric: ['>', 0, '<=', 10] }] } }, { v: 10 }, true],
    ['numeric range, outside', { value: { v: [{ numeric: ['>', 0, '<=', 10] }] } }, { v: 11 }, false],
    ['exists', { value: { v: [{ exists: true }] } }, { v: null }, true],
    ['does not exist', { value: { v: [{ exists: false }] } }, { w: 1 }, true],
    ['a missing field never equals', { value: { v: [1] } }, {}, false],
    ['null', { value: { v: [null] } }, { v: null }, true],
    [
      'nested fields',
      { value: { session: { duration: [{ numeric: ['>=', 100] }] } } },
      { session: { duration: 162 } },
      true,
    ],
    ['a list value matches if any element does', { value: { tags: ['b'] } }, { tags: ['a', 'b'] }, true],
  ])('%s', (_name, pattern, value, expected) => {
    expect(passesFilters([pattern], reading(value))).toBe(expected);
  });

  it('matches a value that is not JSON as a string', () => {
    expect(passesFilters([{ value: [{ prefix: '2026-' }] }], record('2026-11-29 10:00:00'))).toBe(true);
    expect(passesFilters([{ value: { a: ['x'] } }], record('not json'))).toBe(false);
  });

  it('passes a record when any of several filters matches', () => {
    const filters = [{ value: { s: ['a'] } }, { value: { s: ['b'] } }];
    expect(passesFilters(filters, reading({ s: 'b' }))).toBe(true);
    expect(passesFilters(filters, reading({ s: 'c' }))).toBe(false);
  });

  it('drops a record with a null value for any pattern on the value', () => {
    expect(passesFilters([{ value: [{ exists: true }] }], record(null))).toBe(false);
  });
});

describe('assertKafkaFilter', () => {
  it.each<[string, unknown, RegExp]>([
    ['a key other than value', { key: ['x'] }, /filter on the "value" key only/],
    ['an empty rule list', { value: { s: [] } }, /at filter.value.s: a list of rules may not be empty/],
    ['an unknown operator', { value: { s: [{ wildcard: '*' }] } }, /unknown operator "wildcard"/],
    ['a bad numeric rule', { value: { v: [{ numeric: ['~', 1] }] } }, /expected \[op, number\]/],
    ['a leaf that is not a list', { value: { s: 'x' } }, /expected a list of rules/],
  ])('refuses %s, naming the path', (_name, pattern, message) => {
    expect(() => assertKafkaFilter(pattern)).toThrow(message);
  });

  it('accepts the pattern of the Lambda documentation', () => {
    expect(() => assertKafkaFilter({ value: { device_ID: [{ prefix: 'AB' }] } })).not.toThrow();
  });
});
