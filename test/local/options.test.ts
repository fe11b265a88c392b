import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  earliestOrTime,
  integer,
  isoTime,
  keyValue,
  listOf,
  oneOf,
  positiveNumber,
  topicName,
} from '../../local/options';

describe('integer', () => {
  it('accepts the bounds and refuses what is outside, fractional, empty or not a number', () => {
    const partition = integer(0, 9);
    expect(partition('0')).toBe(0);
    expect(partition('9')).toBe(9);
    // Decimal digits only: Number() would also read 0x8, 1e0, 0b1 and 0o7 (--port 0x1000 was port 4096).
    for (const bad of ['-1', '10', '1.5', '', ' ', 'x', '0x10a', '0x8', '1e0', '0b1', '0o7', '+5']) {
      expect(() => partition(bad), bad).toThrow(InvalidArgumentError);
    }
    expect(() => partition('10')).toThrow('expected an integer from 0 to 9.');
  });

  it('speaks of a lower bound alone when there is no upper one', () => {
    expect(() => integer(1)('0')).toThrow('expected an integer of at least 1.');
    expect(integer(1)('123456789')).toBe(123_456_789);
  });
});

describe('positiveNumber', () => {
  it('takes a rate above zero and refuses zero, negatives, infinity and text', () => {
    expect(positiveNumber('0.5')).toBe(0.5);
    for (const bad of ['0', '-2', 'Infinity', 'fast', '']) {
      expect(() => positiveNumber(bad), bad).toThrow('expected a number greater than 0.');
    }
  });
});

describe('isoTime and earliestOrTime', () => {
  it('parses an ISO-8601 time and refuses what Date.parse would guess at', () => {
    expect(isoTime('2026-05-21T02:20:00Z').toISOString()).toBe('2026-05-21T02:20:00.000Z');
    for (const bad of [
      '5',
      'May 5',
      'yesterday',
      '2026-13-45T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-05-21junk',
    ]) {
      expect(() => isoTime(bad), bad).toThrow(/expected an ISO-8601 time/);
    }
  });

  it("takes 'earliest' too, and names both forms on a bad value", () => {
    expect(earliestOrTime('earliest')).toBe('earliest');
    expect(earliestOrTime('2026-05-21')).toEqual(new Date('2026-05-21T00:00:00Z'));
    expect(() => earliestOrTime('latest')).toThrow("expected 'earliest' or an ISO-8601 time");
  });
});

describe('keyValue', () => {
  it('accumulates repeated -c options, the last value of a key winning, and keeps = in values', () => {
    const first = keyValue('jobs.sent-received.batchSize=500');
    expect(keyValue('filters=a=b', keyValue('jobs.sent-received.batchSize=900', first))).toEqual({
      'jobs.sent-received.batchSize': '900',
      filters: 'a=b',
    });
  });

  it('refuses a value with no key', () => {
    expect(() => keyValue('=5')).toThrow('expected key=value');
    expect(() => keyValue('batchSize')).toThrow('expected key=value');
  });
});

describe('listOf', () => {
  it('checks every item and names the one that is wrong', () => {
    const partitions = listOf(integer(0, 3));
    expect(partitions('0, 2,3')).toEqual([0, 2, 3]);
    expect(() => partitions('0,7')).toThrow("'7': expected an integer from 0 to 3.");
  });
});

describe('oneOf', () => {
  it('suggests the closest value on a typo and lists them all', () => {
    const mode = oneOf(['native', 'docker', 'external'] as const);
    expect(mode('docker')).toBe('docker');
    expect(() => mode('nativ')).toThrow("expected one of native, docker, external (did you mean 'native'?).");
    expect(() => mode('zzzzzzzz')).toThrow(/^expected one of native, docker, external\.$/);
  });
});

describe('topicName', () => {
  it('takes what Kafka takes and refuses the rest, saying which characters are allowed', () => {
    expect(topicName('sensor-readings.v2_eu')).toBe('sensor-readings.v2_eu');
    for (const bad of ['', 'a b', 'tópico', '..', 'x'.repeat(250)]) {
      expect(() => topicName(bad), bad).toThrow(/expected a Kafka topic name/);
    }
  });
});
