/**
 * The topic-admin custom resource: creates the pipeline's Kafka topics and grows their partitions, with
 * kafkajs over MSK IAM, from inside the VPC.
 *
 * Rules, all enforced by the pure `planTopics`:
 * - a topic that does not exist is created with the requested partitions and replication factor;
 * - a topic that already exists is not an error (a race with another deploy included: kafkajs answers
 *   `false` for an existing topic);
 * - a topic with fewer partitions than requested grows (`createPartitions`); Kafka cannot shrink one, so a
 *   request for fewer partitions fails the deployment with a message instead of being ignored;
 * - the replication factor of an existing topic is never changed (that is a partition reassignment, not a
 *   config change); a different request fails the deployment with a message;
 * - nothing ever deletes a topic: `Delete` (stack deletion, or a replaced resource) and topics dropped from the
 *   list are no-ops, so no stack operation can destroy a topic's data.
 *
 * The function is the custom resource's service token itself (no provider framework), so it answers
 * CloudFormation on the pre-signed S3 URL; the VPC reaches S3 through its gateway endpoint.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
 */
import type { Context } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Admin } from 'kafkajs';
import { createLogger } from '../runtime/log';
import { createMskKafka } from '../runtime/msk-client';
import { createTopicsWithLeaders } from '../runtime/kafka-topics';
import { TOPIC_NAME } from '../../schema';

export class TopicAdminError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The event is not a well-formed custom resource request for this handler. */
export class TopicEventError extends TopicAdminError {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`Malformed topic-admin request at ${path}: ${problem}`);
  }
}

/** The requested topics cannot be reached from the current ones (shrinking, replication change). */
export class TopicPlanError extends TopicAdminError {}

/** Talking to the brokers failed. */
export class TopicApplyError extends TopicAdminError {}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

export interface ExistingTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

export interface TopicPlan {
  readonly create: readonly TopicSpec[];
  readonly grow: readonly { readonly name: string; readonly from: number; readonly to: number }[];
  readonly unchanged: readonly string[];
}

export type RequestType = 'Create' | 'Update' | 'Delete';

export interface TopicAdminRequest {
  readonly requestType: RequestType;
  readonly responseUrl: string;
  readonly stackId: string;
  readonly requestId: string;
  readonly logicalResourceId: string;
  readonly physicalResourceId: string | undefined;
  readonly topics: readonly TopicSpec[];
}

/** The physical id never changes, so CloudFormation never replaces (and never deletes) the resource on update. */
export const PHYSICAL_RESOURCE_ID = 'microbatch-kafka-topics';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(obj: Record<string, unknown>, key: string, path = key): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') throw new TopicEventError(path, `expected a non-empty string`);
  return v;
}

/** CloudFormation passes every custom resource property as a string; accept both forms of an integer. */
function positiveInt(v: unknown, path: string, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    throw new TopicEventError(path, `expected an integer from 1 to ${max}, received ${JSON.stringify(v)}`);
  }
  return n;
}

/** The boundary: `unknown` in, a typed request out, or a `TopicEventError` naming the field at fault. */
export function parseTopicAdminEvent(event: unknown): TopicAdminRequest {
  if (!isObject(event)) throw new TopicEventError('$', 'expected an object');
  const requestType = event['RequestType'];
  if (requestType !== 'Create' && requestType !== 'Update' && requestType !== 'Delete') {
    throw new TopicEventError(
      'RequestType',
      `expected Create, Update or Delete, received ${JSON.stringify(requestType)}`,
    );
  }
  const responseUrl = str(event, 'ResponseURL');
  if (!responseUrl.startsWith('https://')) throw new TopicEventError('ResponseURL', 'expected an https URL');
  const physical = event['PhysicalResourceId'];
  if (requestType !== 'Create' && (typeof physical !== 'string' || physical === '')) {
    throw new TopicEventError('PhysicalResourceId', `expected a string on ${requestType}`);
  }
  const props = event['ResourceProperties'];
  if (!isObject(props)) throw new TopicEventError('ResourceProperties', 'expected an object');
  const rawTopics = props['Topics'];
  if (!Array.isArray(rawTopics)) throw new TopicEventError('ResourceProperties.Topics', 'expected a list');
  const seen = new Set<string>();
  const topics = rawTopics.map((t: unknown, i): TopicSpec => {
    const path = `ResourceProperties.Topics[${i}]`;
    if (!isObject(t)) throw new TopicEventError(path, 'expected an object');
    const name = str(t, 'Name', `${path}.Name`);
    if (!TOPIC_NAME.test(name) || name === '.' || name === '..') {
      throw new TopicEventError(`${path}.Name`, `'${name}' is not a legal Kafka topic name`);
    }
    if (seen.has(name)) throw new TopicEventError(`${path}.Name`, `topic '${name}' is listed twice`);
    seen.add(name);
    return {
      name,
      partitions: positiveInt(t['Partitions'], `${path}.Partitions`, 10_000),
      replicationFactor: positiveInt(t['ReplicationFactor'], `${path}.ReplicationFactor`, 32),
    };
  });
  return {
    requestType,
    responseUrl,
    stackId: str(event, 'StackId'),
    requestId: str(event, 'RequestId'),
    logicalResourceId: str(event, 'LogicalResourceId'),
    physicalResourceId: typeof physical === 'string' && physical !== '' ? physical : undefined,
    topics,
  };
}

/**
 * What to do to reach `desired` from `existing`. Never deletes: topics missing from `desired` are left alone.
 * Throws `TopicPlanError` listing every topic that cannot be reached, so one deploy reports all of them.
 */
export function planTopics(
  desired: readonly TopicSpec[],
  existing: ReadonlyMap<string, ExistingTopic>,
): TopicPlan {
  const create: TopicSpec[] = [];
  const grow: { name: string; from: number; to: number }[] = [];
  const unchanged: string[] = [];
  const problems: string[] = [];
  for (const want of desired) {
    const have = existing.get(want.name);
    if (have === undefined) {
      create.push(want);
      continue;
    }
    if (have.replicationFactor !== want.replicationFactor) {
      problems.push(
        `topic '${want.name}' has replication factor ${have.replicationFactor}, the config asks for ` +
          `${want.replicationFactor}: reassign its partitions by hand, or set ` +
          `topics.${want.name}.replicationFactor=${have.replicationFactor}`,
      );
    }
    if (want.partitions < have.partitions) {
      problems.push(
        `topic '${want.name}' has ${have.partitions} partitions, the config asks for ${want.partitions}: ` +
          `Kafka cannot remove partitions; set topics.${want.name}.partitions=${have.partitions} or more`,
      );
    } else if (want.partitions > have.partitions) {
      grow.push({ name: want.name, from: have.partitions, to: want.partitions });
    } else if (have.replicationFactor === want.replicationFactor) {
      unchanged.push(want.name);
    }
  }
  if (problems.length > 0) throw new TopicPlanError(`Cannot apply the topic config: ${problems.join('; ')}.`);
  return { create, grow, unchanged };
}

/** The subset of the kafkajs admin client the handler uses, so tests can pass a fake. */
export type TopicAdmin = Pick<
  Admin,
  'connect' | 'disconnect' | 'listTopics' | 'fetchTopicMetadata' | 'createTopics' | 'createPartitions'
>;

/** Reads the current state of the desired topics. */
export async function describeTopics(
  admin: TopicAdmin,
  names: readonly string[],
): Promise<Map<string, ExistingTopic>> {
  const all = new Set(await admin.listTopics());
  const present = names.filter((n) => all.has(n));
  const result = new Map<string, ExistingTopic>();
  if (present.length === 0) return result;
  const { topics } = await admin.fetchTopicMetadata({ topics: present });
  for (const t of topics) {
    const replicationFactor = Math.max(0, ...t.partitions.map((p) => p.replicas.length));
    result.set(t.name, { name: t.name, partitions: t.partitions.length, replicationFactor });
  }
  return result;
}

export async function applyPlan(admin: TopicAdmin, plan: TopicPlan): Promise<void> {
  if (plan.create.length > 0) {
    // `false` means some topic already existed (another deploy won the race): not an error.
    await createTopicsWithLeaders(
      admin,
      plan.create.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor,
      })),
    );
  }
  if (plan.grow.length > 0) {
    await admin.createPartitions({ topicPartitions: plan.grow.map((g) => ({ topic: g.name, count: g.to })) });
  }
}

export interface CfnResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data: Readonly<Record<string, string>>;
}

/** CloudFormation refuses responses over 4 KB; the reason is the only open-ended field. */
export function buildResponse(
  request: TopicAdminRequest,
  outcome: { ok: true; data: Record<string, string> } | { ok: false; reason: string },
): CfnResponse {
  return {
    Status: outcome.ok ? 'SUCCESS' : 'FAILED',
    Reason: outcome.ok ? 'OK' : outcome.reason.slice(0, 1_000),
    PhysicalResourceId: request.physicalResourceId ?? PHYSICAL_RESOURCE_ID,
    StackId: request.stackId,
    RequestId: request.requestId,
    LogicalResourceId: request.logicalResourceId,
    Data: outcome.ok ? outcome.data : {},
  };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}

export interface TopicAdminDeps {
  readonly logger: Logger;
  readonly admin: () => TopicAdmin;
  readonly respond: (url: string, body: CfnResponse) => Promise<void>;
}

/** Creates or grows the topics of the request; a no-op for `Delete`. */
export async function reconcile(
  request: TopicAdminRequest,
  admin: () => TopicAdmin,
  logger: Logger,
): Promise<Record<string, string>> {
  const data = { Topics: request.topics.map((t) => t.name).join(',') };
  if (request.requestType === 'Delete') return data;
  const client = admin();
  try {
    await client.connect();
    const existing = await describeTopics(
      client,
      request.topics.map((t) => t.name),
    );
    const plan = planTopics(request.topics, existing);
    logger.info('topic plan', {
      create: plan.create.map((t) => t.name),
      grow: plan.grow,
      unchanged: plan.unchanged,
    });
    await applyPlan(client, plan);
    return data;
  } catch (error) {
    if (error instanceof TopicAdminError) throw error;
    throw new TopicApplyError('Could not reconcile the topics with the brokers', { cause: error });
  } finally {
    await client.disconnect();
  }
}

/** Leaves this much of the Lambda timeout to send a FAILED answer, so CloudFormation never waits an hour. */
const RESPONSE_MARGIN_MS = 10_000;

export function makeHandler(
  deps: TopicAdminDeps,
): (event: unknown, context: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<void> {
  return async (event, context) => {
    // Without a valid ResponseURL there is no one to answer; throwing makes the failure visible in the logs.
    const request = parseTopicAdminEvent(event);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      const budget = Math.max(1_000, context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS);
      timer = setTimeout(() => reject(new TopicApplyError(`Timed out after ${budget} ms`)), budget);
    });
    let body: CfnResponse;
    try {
      const data = await Promise.race([reconcile(request, deps.admin, deps.logger), deadline]);
      body = buildResponse(request, { ok: true, data });
    } catch (error) {
      deps.logger.error('topic reconcile failed', { error: describe(error) });
      body = buildResponse(request, { ok: false, reason: describe(error) });
    } finally {
      clearTimeout(timer);
    }
    await deps.respond(request.responseUrl, body);
  };
}

/** PUTs the answer to the pre-signed URL; the URL signs no content type, so none is sent. */
export async function respondToCloudFormation(url: string, body: CfnResponse): Promise<void> {
  const text = JSON.stringify(body);
  const res = await fetch(url, { method: 'PUT', body: text, headers: { 'content-type': '' } });
  if (!res.ok) throw new TopicAdminError(`CloudFormation response rejected: HTTP ${res.status}`);
}

const logger = createLogger({ serviceName: 'microbatch-topic-admin' });

export const handler = makeHandler({
  logger,
  admin: () => createMskKafka('microbatch-topic-admin', process.env, logger).admin(),
  respond: respondToCloudFormation,
});
