/**
 * The query function, behind an IAM-authenticated function URL. GET with:
 * - `?view=sent-received&limit=20`: the newest tutorial rows;
 * - `?view=sensor&sensorId=s1&from=<ISO>&to=<ISO>`: window results, merged across partitions;
 * - `?view=batches&job=sent-received&limit=20`: the batch ledger.
 */
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import type { Client } from 'cassandra-driver';
import { connectCassandra, targetFromEnv } from '../runtime/cassandra-connect';
import { configFromEnv } from '../runtime/handler';
import { recentBatches, recentSentReceived, sensorWindows } from '../runtime/queries';
import { windowSpecId } from '../runtime/windows';
import { isJobName, JOB_NAMES } from '../../schema';

export class QueryInputError extends Error {
  override readonly name = 'QueryInputError';
}

export type QueryRequest =
  | { readonly view: 'sent-received'; readonly limit: number }
  | { readonly view: 'sensor'; readonly sensorId: string; readonly from: Date; readonly to: Date }
  | { readonly view: 'batches'; readonly job: string; readonly limit: number };

function limitOf(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new QueryInputError(`limit must be an integer from 1 to 1000, received '${raw}'.`);
  return n;
}

function dateOf(name: string, raw: string | undefined, fallback: Date): Date {
  if (raw === undefined) return fallback;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms))
    throw new QueryInputError(
      `${name} must be an ISO-8601 time such as 2026-05-21T02:20:00Z, received '${raw}'.`,
    );
  return new Date(ms);
}

/** Checks the query string at the boundary. */
export function parseQuery(params: Record<string, string | undefined>, now = new Date()): QueryRequest {
  const view = params.view ?? 'sent-received';
  if (view === 'sent-received') return { view, limit: limitOf(params.limit) };
  if (view === 'sensor') {
    if (!params.sensorId)
      throw new QueryInputError('view=sensor needs sensorId, e.g. ?view=sensor&sensorId=s1.');
    const to = dateOf('to', params.to, now);
    const from = dateOf('from', params.from, new Date(to.getTime() - 3_600_000));
    if (from >= to)
      throw new QueryInputError(`from (${from.toISOString()}) must be before to (${to.toISOString()}).`);
    return { view, sensorId: params.sensorId, from, to };
  }
  if (view === 'batches') {
    const job = params.job ?? 'sent-received';
    if (!isJobName(job))
      throw new QueryInputError(`job must be one of ${JOB_NAMES.join(', ')}, received '${job}'.`);
    return { view, job, limit: limitOf(params.limit) };
  }
  throw new QueryInputError(`view must be one of sent-received, sensor, batches; received '${view}'.`);
}

let client: Promise<Client> | undefined;

export async function handler(event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> {
  let request: QueryRequest;
  try {
    request = parseQuery(event.queryStringParameters ?? {});
  } catch (error) {
    if (error instanceof QueryInputError) return json(400, { error: error.message });
    throw error;
  }
  const config = configFromEnv();
  client ??= connectCassandra(targetFromEnv()).catch((error: unknown) => {
    client = undefined;
    throw error;
  });
  const c = await client;
  const keyspace = config.keyspace.name;
  switch (request.view) {
    case 'sent-received':
      return json(200, await recentSentReceived(c, keyspace, request.limit));
    case 'sensor': {
      const stats = config.jobs['sensor-stats'];
      const windowSpec = windowSpecId({
        sizeMs: stats.windowSeconds * 1000,
        slideMs: stats.slideSeconds * 1000,
      });
      return json(200, { windowSpec, windows: await sensorWindows(c, keyspace, { ...request, windowSpec }) });
    }
    case 'batches':
      return json(200, { batches: await recentBatches(c, keyspace, request.job, request.limit) });
  }
}

function json(statusCode: number, body: unknown): LambdaFunctionURLResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
  };
}
