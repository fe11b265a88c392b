import { describe, expect, it } from 'vitest';
import { createSentReceivedJob } from '../../../lambda/jobs/sent-received';
import { createSensorStatsJob, validateReading } from '../../../lambda/jobs/sensor-stats';
import { formatTime, parseTime } from '../../../lambda/jobs/shared/time-format';
import { parseMskEvent } from '../../../lambda/runtime/event';
import { RecordError } from '../../../lambda/runtime/errors';
import { SchemaViolation } from '../../../lambda/runtime/decoders';
import { fixtureEvent } from '../../support/fixtures';

describe('time formats', () => {
  it("formats the tutorial's 'YYYY-MM-DD HH:MM:SS' in UTC, and ISO with milliseconds", () => {
    const d = new Date(Date.UTC(2026, 4, 21, 2, 20, 3, 250));
    expect(formatTime(d, 'tutorial')).toBe('2026-05-21 02:20:03');
    expect(formatTime(d, 'iso')).toBe('2026-05-21T02:20:03.250Z');
  });

  it('parses both, and refuses dates that do not exist', () => {
    expect(parseTime('2026-05-21 02:20:03')).toBe(Date.UTC(2026, 4, 21, 2, 20, 3));
    expect(parseTime('2026-05-21T02:20:03.250Z')).toBe(Date.UTC(2026, 4, 21, 2, 20, 3, 250));
    expect(parseTime('2026-02-31 00:00:00')).toBeUndefined();
    expect(parseTime('yesterday')).toBeUndefined();
  });

  it('GIVEN the current time as other producers write it THEN each is a send time, in UTC where it has no zone', () => {
    const at = Date.UTC(2026, 4, 21, 2, 20, 3, 250);
    // Python's str(datetime.now()) on a UTC machine, RFC 3339 with a space and a zone, a lower-case t and z
    expect(parseTime('2026-05-21 02:20:03.250123')).toBe(at);
    expect(parseTime('2026-05-21 02:20:03.25+02:00')).toBe(at - 2 * 3600_000);
    expect(parseTime('2026-05-21t02:20:03.250z')).toBe(at);
    expect(parseTime('2026-05-21T02:20:03.250')).toBe(at);
    // Python's str(time.time()), whole seconds, and Java's System.currentTimeMillis()
    expect(parseTime('1779330003.250123')).toBe(at);
    expect(parseTime('1779330003.001')).toBe(Date.UTC(2026, 4, 21, 2, 20, 3, 1));
    expect(parseTime('1779330003')).toBe(Date.UTC(2026, 4, 21, 2, 20, 3));
    expect(parseTime(String(at))).toBe(at);
  });

  it("GIVEN the shell's `date` or Java's Date.toString() in UTC or with an offset THEN each is a send time", () => {
    const at = Date.UTC(2026, 11, 1, 11, 0, 3);
    // GNU date in the C locale (the day padded with a space), BSD date, Java's Date.toString(), English locales' AM
    // and PM, a numeric offset (date +'%a %b %e %T %z %Y'), and a fraction (%N)
    expect(parseTime('Tue Dec  1 11:00:03 UTC 2026')).toBe(at);
    expect(parseTime('Tue Dec 01 11:00:03 GMT 2026')).toBe(at);
    expect(parseTime('Tue Dec  1 11:00:03 AM UTC 2026')).toBe(at);
    expect(parseTime('Tue Dec  1 12:00:03 AM UTC 2026')).toBe(at - 11 * 3600_000);
    expect(parseTime('Tue Dec  1 01:00:03 PM UTC 2026')).toBe(at + 2 * 3600_000);
    expect(parseTime('Tue Dec  1 12:30:03 +0130 2026')).toBe(at);
    expect(parseTime('Tue Dec  1 09:00:03 -0200 2026')).toBe(at);
    expect(parseTime('Tue Dec  1 11:00:03.250123 UTC 2026')).toBe(at + 250);
    // THEN what names no real time, or no certain zone, is not one
    for (const text of [
      'Wed Dec  1 11:00:03 UTC 2026', // Dec 1st 2026 is a Tuesday
      'Tue Nov 31 11:00:03 UTC 2026',
      'Tue Dec  1 24:00:03 UTC 2026',
      'Tue Dec  1 11:60:03 UTC 2026',
      'Tue Dec  1 13:00:03 PM UTC 2026',
      'Tue Dec  1 11:00:03 CET 2026', // CET, IST, CST: one abbreviation, several offsets
      'Tue Dec  1 11:00:03 2026',
    ])
      expect(parseTime(text), text).toBeUndefined();
  });

  it('GIVEN what is not a send time THEN none is taken for one', () => {
    for (const text of [
      '2026-05-21',
      '2026-02-31 00:00:00.5',
      '2026-05-21 02:20:03,250',
      'Thu May 21 02:20:03 2026',
      '177933000',
      '17793300031',
      '1779330003.',
      '-1779330003',
      '"2026-05-21T02:20:03Z"',
    ])
      expect(parseTime(text), text).toBeUndefined();
  });

  it('parses ISO times as Date.parse does, whatever came before (the per-second memo)', () => {
    // GIVEN values in send order: several per second, fractions of 0 to 9 digits, the zone changing within a
    // second, and times V8 refuses or rolls over, each repeated so that the memo is hit
    const values: string[] = [];
    for (const second of [
      '2026-05-21T02:20:03',
      '2026-05-21T02:20:04',
      '2026-02-31T23:59:59',
      '2026-05-21T02:20:60',
    ])
      for (const zone of ['Z', '+05:30', '-00:00', '+25:00'])
        for (const fraction of ['', '.2', '.25', '.250', '.2509', '.999999999', '.000000001'])
          values.push(`${second}${fraction}${zone}`, `${second}${fraction}${zone}`);
    // WHEN each is parsed in that order, THEN each gives what Date.parse gives (undefined where it gives NaN)
    for (const value of values) {
      const expected = Date.parse(value);
      expect(parseTime(value), value).toBe(Number.isNaN(expected) ? undefined : expected);
    }
    // AND a tutorial time after an ISO one of the same second, and an impossible one twice, are still told apart
    expect(parseTime('2026-05-21 02:20:03')).toBe(Date.UTC(2026, 4, 21, 2, 20, 3));
    expect(parseTime('2026-02-30 00:00:00')).toBeUndefined();
    expect(parseTime('2026-02-30 00:00:00')).toBeUndefined();
  });
});

describe('sent-received', () => {
  const job = createSentReceivedJob({ timeFormat: 'tutorial', failOnDataLoss: false });
  const records = parseMskEvent(fixtureEvent('sent-received')).partitions.flatMap((p) => p.records);
  const processingTime = new Date(Date.UTC(2026, 4, 21, 2, 21, 0));

  it('writes (time_sent, time_received) with the batch processing time', () => {
    const rows = job.transform(job.decoder.decode(records[0]!), { record: records[0]!, processingTime });
    expect(rows).toEqual([
      {
        table: expect.objectContaining({ name: 'sent_received' }),
        values: { time_sent: '2026-05-21 02:20:00', time_received: '2026-05-21 02:21:00' },
      },
    ]);
  });

  it.each([
    ['a console line with its newline', '2026-12-01 11:00:03\n', '2026-12-01 11:00:03'],
    ['a JSON string (a JSON serializer)', '"2026-12-01 11:00:03.123456"', '2026-12-01 11:00:03.123456'],
    ["the shell's date", 'Tue Dec  1 11:00:03 UTC 2026', 'Tue Dec  1 11:00:03 UTC 2026'],
  ])('GIVEN %s THEN the send time it carries is stored', (_name, value, timeSent) => {
    const record = { ...records[0]!, value: Buffer.from(value) };
    expect(job.transform(job.decoder.decode(record), { record, processingTime })[0]!.values.time_sent).toBe(
      timeSent,
    );
  });

  it('GIVEN a JSON value that is not a string, or a quoted text that is not JSON THEN it is no send time', () => {
    for (const value of [
      '{"time":"2026-12-01 11:00:03"}',
      '"2026-12-01 11:00:03',
      '"2026-12-01 \\x 11:00:03"',
    ]) {
      const record = { ...records[0]!, value: Buffer.from(value) };
      expect(() => job.transform(job.decoder.decode(record), { record, processingTime }), value).toThrow(
        /is not a send time: expected .* the shell's `date` in UTC or with a numeric offset/,
      );
    }
  });

  it('accepts an ISO send time as it is', () => {
    const iso = records.find((r) => r.value!.toString().includes('T'))!;
    expect(job.transform(job.decoder.decode(iso), { record: iso, processingTime })[0]!.values.time_sent).toBe(
      '2026-05-21T02:20:03.250Z',
    );
  });

  it.each([
    ['a null value', 21n, 'null-value'],
    ['a value that is not a time', 22n, 'schema'],
    ['invalid UTF-8', 24n, 'invalid-utf8'],
  ])('rejects %s with reason %s', (_name, offset, reason) => {
    const bad = parseMskEvent(fixtureEvent('sent-received-bad-payloads')).partitions[0]!.records.find(
      (r) => r.offset === offset,
    )!;
    const error = (() => {
      try {
        job.transform(job.decoder.decode(bad), { record: bad, processingTime });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(RecordError);
    expect(error).toMatchObject({ reason });
  });

  it('quotes a long value cut, with its length, so that the cut never reads as the whole value', () => {
    const long = `${'😀'.repeat(39)}${'x'.repeat(261)}`;
    const record = { ...records[0]!, value: Buffer.from(long) };
    expect(() => job.transform(job.decoder.decode(record), { record, processingTime })).toThrow(
      `The value ${JSON.stringify(`${'😀'.repeat(39)}x`)}… (300 characters) is not a send time`,
    );
  });
});

describe('sensor-stats', () => {
  it('validates readings, naming the field at fault', () => {
    expect(validateReading({ sensorId: 's1', ts: 5, value: 1.5 })).toEqual({
      sensorId: 's1',
      ts: 5,
      value: 1.5,
    });
    expect(validateReading({ sensorId: 's1', ts: '1970-01-01T00:00:01Z', value: 0 }).ts).toBe(1000);
    expect(() => validateReading({ sensorId: '', ts: 5, value: 1 })).toThrow(/\$\.sensorId/);
    expect(() => validateReading({ sensorId: 's', ts: 'soon', value: 1 })).toThrow(/\$\.ts/);
    expect(() => validateReading({ sensorId: 's', ts: 5, value: null })).toThrow(SchemaViolation);
    expect(() => validateReading([1])).toThrow(/expected an object/);
  });

  it('turns bad JSON and schema violations into dead-letter reasons', () => {
    const job = createSensorStatsJob({
      windowSeconds: 60,
      slideSeconds: 60,
      allowedLatenessSeconds: 5,
      failOnDataLoss: false,
    });
    const p0 = parseMskEvent(fixtureEvent('sensor-stats')).partitions[0]!.records;
    expect(job.decoder.decode(p0[0]!)).toMatchObject({ sensorId: 's1', value: 20.5 });
    expect(() => job.decoder.decode(p0[2]!)).toThrow(expect.objectContaining({ reason: 'invalid-json' }));
    expect(() => job.decoder.decode(p0[3]!)).toThrow(
      expect.objectContaining({ reason: 'schema', message: expect.stringMatching(/\$\.value/) }),
    );
  });

  it('fails to build with a window slide that does not divide the size', () => {
    expect(() =>
      createSensorStatsJob({
        windowSeconds: 60,
        slideSeconds: 7,
        allowedLatenessSeconds: 5,
        failOnDataLoss: false,
      }),
    ).toThrow(/slideMs must divide sizeMs/);
  });
});
