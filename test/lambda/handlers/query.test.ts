import { afterEach, describe, expect, it, vi } from 'vitest';
import { jobViews } from '../../../config/jobs';
import {
  handler,
  jobViewsFromEnv,
  parseQuery,
  QueryEventError,
  QueryInputError,
} from '../../../lambda/handlers/query';
import { RuntimeConfigError } from '../../../lambda/runtime/errors';
import { SHIPPED_JOBS } from '../../support/jobs';

const views = jobViews(SHIPPED_JOBS, (job) =>
  job === 'sensor-stats' ? { windowSeconds: 60, slideSeconds: 0 } : { windowSeconds: 60 },
);

describe('parseQuery', () => {
  const now = new Date('2026-05-21T03:00:00Z');

  it('lists the jobs when asked nothing', () => {
    expect(parseQuery({}, views, now)).toEqual({ view: 'jobs' });
  });

  it("reads a transform job's newest rows", () => {
    expect(parseQuery({ job: 'sent-received' }, views, now)).toEqual({
      view: 'rows',
      job: views.find((v) => v.name === 'sent-received'),
      limit: 20,
    });
  });

  it("defaults a window job's query to its key's last hour", () => {
    expect(parseQuery({ job: 'page-views', key: '/docs' }, views, now)).toEqual({
      view: 'windows',
      job: views.find((v) => v.name === 'page-views'),
      key: '/docs',
      from: new Date('2026-05-21T02:00:00Z'),
      to: now,
    });
  });

  it("reads any job's batches", () => {
    expect(parseQuery({ job: 'sensor-stats', view: 'batches', limit: '5' }, views, now)).toMatchObject({
      view: 'batches',
      limit: 5,
    });
  });

  it.each([
    [{ view: 'batches' }, /view=batches needs job, one of page-views, sensor-stats, sent-received/],
    [{ job: 'sensor-stat' }, /job must be one of .*received 'sensor-stat' \(did you mean 'sensor-stats'\?\)/],
    [{ job: 'sent-received', view: 'nope' }, /view must be results or batches, received 'nope'/],
    [{ job: 'sent-received', limit: '0' }, /limit must be an integer from 1 to 1000, received '0'/],
    // Decimal digits only, as the local UI's API reads them: Number() would read these as 16, 100 and 5.
    [{ job: 'sent-received', limit: '0x10' }, /limit must be an integer from 1 to 1000, received '0x10'/],
    [{ job: 'sent-received', limit: '1e2' }, /limit must be an integer from 1 to 1000, received '1e2'/],
    [{ job: 'sent-received', limit: ' 5' }, /limit must be an integer from 1 to 1000, received ' 5'/],
    [{ job: 'sensor-stats' }, /window job: give the key to read \(its sensor_id\)/],
    [{ job: 'sensor-stats', key: 's', from: 'yesterday' }, /from must be an ISO-8601 time/],
    [{ job: 'sensor-stats', key: 's', from: '5' }, /from must be an ISO-8601 time on a day of the calendar/],
    [
      { job: 'sensor-stats', key: 's', to: '2026-02-30T00:00:00Z' },
      /to must be an ISO-8601 time on a day of the calendar, such as 2026-05-21T02:20:00Z, received '2026-02-30T00:00:00Z'/,
    ],
    [{ job: 'sensor-stats', key: 's', from: '2026-05-21T04:00:00Z' }, /must be before to/],
  ])('fails on %j with a message that says how to fix it', (params, message) => {
    expect(() => parseQuery(params, views, now)).toThrow(QueryInputError);
    expect(() => parseQuery(params, views, now)).toThrow(message);
  });
});

describe('jobViewsFromEnv', () => {
  it('reads the views the stack set', () => {
    expect(jobViewsFromEnv({ MICROBATCH_QUERY_JOBS: JSON.stringify(views) })).toEqual(views);
  });

  it.each([
    ['missing', {}],
    ['not JSON', { MICROBATCH_QUERY_JOBS: '{' }],
    ['not a list of views', { MICROBATCH_QUERY_JOBS: '[1]' }],
  ])('fails when the variable is %s, naming it', (_case, env) => {
    expect(() => jobViewsFromEnv(env)).toThrow(RuntimeConfigError);
    expect(() => jobViewsFromEnv(env)).toThrow(/MICROBATCH_QUERY_JOBS/);
  });
});

describe('handler', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each([
    ['null', null],
    ['a string', 'job=sent-received'],
    ['an array', [{ job: 'sent-received' }]],
  ])('refuses an event that is %s at the boundary, saying how to call it', async (_what, event) => {
    vi.stubEnv('MICROBATCH_QUERY_JOBS', JSON.stringify(views));
    await expect(handler(event)).rejects.toThrow(QueryEventError);
    await expect(handler(event)).rejects.toThrow(/call the function URL \(GET \?job=\.\.\.\)/);
  });

  it.each(['POST', 'DELETE', 'PUT'])(
    'answers 405 to a %s through the function URL, naming GET, before any connection is made',
    async (method) => {
      vi.stubEnv('MICROBATCH_QUERY_JOBS', JSON.stringify(views));
      const answer = await handler({
        queryStringParameters: { job: 'sent-received' },
        requestContext: { http: { method, path: '/' } },
      });
      expect(answer).toMatchObject({ statusCode: 405, headers: { allow: 'GET, HEAD' } });
      expect(JSON.parse((answer as { body: string }).body)).toEqual({
        error: `The query API only reads: use GET, not ${method}.`,
      });
    },
  );

  it('answers 400 to a parameter that is not a string, before any connection is made', async () => {
    vi.stubEnv('MICROBATCH_QUERY_JOBS', JSON.stringify(views));
    const answer = await handler({ queryStringParameters: { job: 'sent-received', limit: 5 } });
    expect(answer).toMatchObject({ statusCode: 400 });
    expect(JSON.parse((answer as { body: string }).body)).toEqual({
      error: 'limit must be a string, received 5.',
    });
  });
});
