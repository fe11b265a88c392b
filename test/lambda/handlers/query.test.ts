import { describe, expect, it } from 'vitest';
import { parseQuery, QueryInputError } from '../../../lambda/handlers/query';

describe('parseQuery', () => {
  const now = new Date('2026-05-21T03:00:00Z');

  it('defaults to the newest tutorial rows', () => {
    expect(parseQuery({}, now)).toEqual({ view: 'sent-received', limit: 20 });
  });

  it('defaults a sensor query to the last hour', () => {
    expect(parseQuery({ view: 'sensor', sensorId: 's1' }, now)).toEqual({
      view: 'sensor',
      sensorId: 's1',
      from: new Date('2026-05-21T02:00:00Z'),
      to: now,
    });
  });

  it.each([
    [{ view: 'nope' }, /view must be one of sent-received, sensor, batches; received 'nope'/],
    [{ limit: '0' }, /limit must be an integer from 1 to 1000, received '0'/],
    [{ view: 'sensor' }, /needs sensorId/],
    [{ view: 'sensor', sensorId: 's', from: 'yesterday' }, /from must be an ISO-8601 time/],
    [{ view: 'sensor', sensorId: 's', from: '2026-05-21T04:00:00Z' }, /must be before to/],
    [{ view: 'batches', job: 'other' }, /job must be one of sent-received, sensor-stats/],
  ])('fails on %j with a message that says how to fix it', (params, message) => {
    expect(() => parseQuery(params, now)).toThrow(QueryInputError);
    expect(() => parseQuery(params, now)).toThrow(message);
  });
});
