/**
 * The query function, behind an IAM-authenticated function URL. GET with:
 * - no parameters: the jobs, and what each can be asked;
 * - `?job=sent-received&limit=20`: a transform job's newest rows;
 * - `?job=sensor-stats&key=s1&from=<ISO>&to=<ISO>`: a window job's windows of one key, merged across partitions;
 * - `?job=sent-received&view=batches&limit=20`: a job's batch ledger.
 *
 * It knows the jobs from their views (`MICROBATCH_QUERY_JOBS`, see config/env.ts), not their code: a new job is
 * queryable with no change here.
 */
import type { LambdaFunctionURLResult } from 'aws-lambda';
import type { Client } from 'cassandra-driver';
import { closest } from '../../config';
import { QUERY_ENV, RUNTIME_ENV } from '../../config/env';
import type { JobView, TransformJobView, WindowJobView } from '../../config/jobs';
import { connectCassandra, targetFromEnv } from '../runtime/cassandra-connect';
import { RuntimeConfigError } from '../runtime/errors';
import { integerParam, recentBatches, recentRows, windowResults } from '../runtime/queries';
import { windowSpecId } from '../runtime/windows';
import { ISO_TIME_EXAMPLE, isoTimeMs } from '../runtime/iso-time';

export class QueryInputError extends Error {
  override readonly name = 'QueryInputError';
}

/** The invocation is not a function URL request (nor a direct one shaped like it). */
export class QueryEventError extends Error {
  override readonly name = 'QueryEventError';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The boundary: the query string of an `unknown` event. A function URL request carries it in
 * `queryStringParameters`, each value a string (a repeated parameter's values joined by commas), and leaves it out
 * when there is none.
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads
 */
export function queryParamsOf(event: unknown): Record<string, string | undefined> {
  if (!isObject(event)) {
    throw new QueryEventError(
      `Expected a function URL request, received ${JSON.stringify(event) ?? String(event)}: call the function ` +
        'URL (GET ?job=...), or invoke it with {"queryStringParameters": {"job": "..."}}.',
    );
  }
  const params = event.queryStringParameters;
  if (params === undefined || params === null) return {};
  if (!isObject(params))
    throw new QueryInputError(
      'queryStringParameters must be an object of strings, e.g. {"job": "sensor-stats"}.',
    );
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'string')
      throw new QueryInputError(
        `${name} must be a string, received ${JSON.stringify(value) ?? String(value)}.`,
      );
  }
  return params as Record<string, string>;
}

export type QueryRequest =
  | { readonly view: 'jobs' }
  | { readonly view: 'rows'; readonly job: TransformJobView; readonly limit: number }
  | {
      readonly view: 'windows';
      readonly job: WindowJobView;
      readonly key: string;
      readonly from: Date;
      readonly to: Date;
    }
  | { readonly view: 'batches'; readonly job: JobView; readonly limit: number };

function limitOf(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const n = integerParam(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new QueryInputError(`limit must be an integer from 1 to 1000, received '${raw}'.`);
  return n;
}

function dateOf(name: string, raw: string | undefined, fallback: Date): Date {
  if (raw === undefined) return fallback;
  const ms = isoTimeMs(raw);
  if (Number.isNaN(ms))
    throw new QueryInputError(
      `${name} must be an ISO-8601 time on a day of the calendar, such as ${ISO_TIME_EXAMPLE}, received '${raw}'.`,
    );
  return new Date(ms);
}

/** Checks the query string at the boundary. */
export function parseQuery(
  params: Record<string, string | undefined>,
  jobs: readonly JobView[],
  now = new Date(),
): QueryRequest {
  if (params.job === undefined) {
    if (params.view === undefined) return { view: 'jobs' };
    throw new QueryInputError(`view=${params.view} needs job, one of ${jobs.map((j) => j.name).join(', ')}.`);
  }
  const job = jobs.find((j) => j.name === params.job);
  if (!job) {
    const guess = closest(
      params.job,
      jobs.map((j) => j.name),
    );
    throw new QueryInputError(
      `job must be one of ${jobs.map((j) => j.name).join(', ')}; received '${params.job}'` +
        (guess ? ` (did you mean '${guess}'?).` : '.'),
    );
  }
  const view = params.view ?? 'results';
  if (view === 'batches') return { view, job, limit: limitOf(params.limit) };
  if (view !== 'results') throw new QueryInputError(`view must be results or batches, received '${view}'.`);
  if (job.kind === 'transform') return { view: 'rows', job, limit: limitOf(params.limit) };
  if (!params.key) {
    throw new QueryInputError(
      `job=${job.name} is a window job: give the key to read (its ${job.keyColumn}), e.g. ?job=${job.name}&key=<${job.keyColumn}>.`,
    );
  }
  const to = dateOf('to', params.to, now);
  const from = dateOf('from', params.from, new Date(to.getTime() - 3_600_000));
  if (from >= to)
    throw new QueryInputError(`from (${from.toISOString()}) must be before to (${to.toISOString()}).`);
  return { view: 'windows', job, key: params.key, from, to };
}

/** The job views the stack passed in. */
export function jobViewsFromEnv(env: NodeJS.ProcessEnv = process.env): JobView[] {
  const raw = env[QUERY_ENV.jobs];
  try {
    const views = JSON.parse(raw ?? '') as unknown;
    if (Array.isArray(views) && views.every((v) => typeof (v as JobView).name === 'string'))
      return views as JobView[];
  } catch (cause) {
    throw new RuntimeConfigError(`${QUERY_ENV.jobs} is not JSON; the stack sets it from the job registry.`, {
      cause,
    });
  }
  throw new RuntimeConfigError(
    `${QUERY_ENV.jobs} is not a list of job views; the stack sets it from the job registry.`,
  );
}

/** Runs one request. */
export async function runQuery(client: Client, keyspace: string, request: QueryRequest): Promise<unknown> {
  switch (request.view) {
    case 'jobs':
      return { jobs: jobViewsFromEnv() };
    case 'rows':
      return await recentRows(client, keyspace, request.job, request.limit);
    case 'windows': {
      const windowSpec = windowSpecId(request.job.window);
      return {
        job: request.job.name,
        windowSpec,
        windows: await windowResults(client, keyspace, { ...request, view: request.job, windowSpec }),
      };
    }
    case 'batches':
      return { batches: await recentBatches(client, keyspace, request.job.name, request.limit) };
  }
}

let client: Promise<Client> | undefined;

/**
 * The HTTP method of a function URL request; undefined for a direct invocation, which has none.
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-request-payload
 */
function httpMethodOf(event: unknown): unknown {
  if (!isObject(event) || !isObject(event.requestContext)) return undefined;
  const http = event.requestContext.http;
  return isObject(http) ? http.method : undefined;
}

export async function handler(event: unknown): Promise<LambdaFunctionURLResult> {
  // The API only reads: a POST or a DELETE that answered 200 would let a caller believe it had changed something.
  const method = httpMethodOf(event);
  if (method !== undefined && method !== 'GET' && method !== 'HEAD') {
    return json(
      405,
      { error: `The query API only reads: use GET, not ${String(method)}.` },
      { allow: 'GET, HEAD' },
    );
  }
  let request: QueryRequest;
  try {
    request = parseQuery(queryParamsOf(event), jobViewsFromEnv());
  } catch (error) {
    if (error instanceof QueryInputError) return json(400, { error: error.message });
    throw error;
  }
  const keyspace = process.env[RUNTIME_ENV.keyspace];
  if (!keyspace) throw new RuntimeConfigError(`${RUNTIME_ENV.keyspace} is not set; the stack sets it.`);
  client ??= connectCassandra(targetFromEnv()).catch((error: unknown) => {
    client = undefined;
    throw error;
  });
  return json(200, await runQuery(await client, keyspace, request));
}

function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): LambdaFunctionURLResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
  };
}
