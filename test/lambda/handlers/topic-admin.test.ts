import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ITopicConfig, ITopicMetadata } from 'kafkajs';
import {
  PHYSICAL_RESOURCE_ID,
  TopicEventError,
  TopicPlanError,
  applyPlan,
  buildResponse,
  describeTopics,
  makeHandler,
  parseTopicAdminEvent,
  planTopics,
  type CfnResponse,
  type ExistingTopic,
  type TopicAdmin,
  type TopicSpec,
} from '../../../lambda/handlers/topic-admin';

/** A custom resource request as CloudFormation sends it: every property value is a string. */
const CREATE_EVENT = {
  RequestType: 'Create',
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:topic-admin',
  ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/x?sig=1',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/dev-microbatch-kafka/guid',
  RequestId: 'req-1',
  LogicalResourceId: 'Topics',
  ResourceType: 'Custom::KafkaTopics',
  ResourceProperties: {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:topic-admin',
    Topics: [
      { Name: 'test', Partitions: '3', ReplicationFactor: '2' },
      { Name: 'sensor-readings', Partitions: '3', ReplicationFactor: '2' },
    ],
  },
} as const;

function event(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...structuredClone(CREATE_EVENT), ...overrides } as Record<string, unknown>;
}

const spec = (name: string, partitions: number, replicationFactor = 2): TopicSpec => ({
  name,
  partitions,
  replicationFactor,
});
const existing = (...topics: ExistingTopic[]): Map<string, ExistingTopic> =>
  new Map(topics.map((t) => [t.name, t]));

describe('parseTopicAdminEvent', () => {
  it('reads the topics, turning CloudFormation string numbers into integers', () => {
    // Act
    const request = parseTopicAdminEvent(event());

    // Assess
    expect(request.requestType).toBe('Create');
    expect(request.topics).toEqual([spec('test', 3), spec('sensor-readings', 3)]);
    expect(request.physicalResourceId).toBeUndefined();
  });

  it('keeps the physical id of an update', () => {
    const request = parseTopicAdminEvent(event({ RequestType: 'Update', PhysicalResourceId: 'p-1' }));
    expect(request.physicalResourceId).toBe('p-1');
  });

  it.each([
    ['a non-object', 'nope', /at \$: expected an object/],
    [
      'an unknown request type',
      event({ RequestType: 'Upsert' }),
      /at RequestType: expected Create, Update or Delete/,
    ],
    ['an http response URL', event({ ResponseURL: 'http://x' }), /at ResponseURL: expected an https URL/],
    ['an update without a physical id', event({ RequestType: 'Update' }), /at PhysicalResourceId/],
    [
      'zero partitions',
      event({ ResourceProperties: { Topics: [{ Name: 'test', Partitions: '0', ReplicationFactor: '2' }] } }),
      /Topics\[0\]\.Partitions: expected an integer from 1 to 10000, received "0"/,
    ],
    [
      'an illegal topic name',
      event({ ResourceProperties: { Topics: [{ Name: 'a b', Partitions: '1', ReplicationFactor: '1' }] } }),
      /'a b' is not a legal Kafka topic name/,
    ],
    [
      'a topic listed twice',
      event({
        ResourceProperties: {
          Topics: [
            { Name: 't', Partitions: '1', ReplicationFactor: '1' },
            { Name: 't', Partitions: '2', ReplicationFactor: '1' },
          ],
        },
      }),
      /topic 't' is listed twice/,
    ],
  ])('fails on %s', (_label, input, message) => {
    expect(() => parseTopicAdminEvent(input)).toThrow(TopicEventError);
    expect(() => parseTopicAdminEvent(input)).toThrow(message);
  });
});

describe('planTopics', () => {
  it('creates a topic that does not exist', () => {
    const plan = planTopics([spec('test', 3)], existing());
    expect(plan).toEqual({ create: [spec('test', 3)], grow: [], unchanged: [] });
  });

  it('leaves an identical existing topic alone: an existing topic is not an error', () => {
    const plan = planTopics(
      [spec('test', 3)],
      existing({ name: 'test', partitions: 3, replicationFactor: 2 }),
    );
    expect(plan).toEqual({ create: [], grow: [], unchanged: ['test'] });
  });

  it('grows the partitions of an existing topic', () => {
    const plan = planTopics(
      [spec('test', 6)],
      existing({ name: 'test', partitions: 3, replicationFactor: 2 }),
    );
    expect(plan.grow).toEqual([{ name: 'test', from: 3, to: 6 }]);
  });

  it('never deletes a topic that is no longer requested', () => {
    // Prepare
    const current = existing(
      { name: 'test', partitions: 3, replicationFactor: 2 },
      { name: 'old', partitions: 9, replicationFactor: 2 },
    );

    // Act
    const plan = planTopics([spec('test', 3)], current);

    // Assess: the plan has no delete step at all, and 'old' is simply not touched.
    expect(Object.keys(plan).sort()).toEqual(['create', 'grow', 'unchanged']);
    expect(JSON.stringify(plan)).not.toContain('old');
  });

  it('fails when the config asks for fewer partitions, saying how to fix it', () => {
    const current = existing({ name: 'test', partitions: 6, replicationFactor: 2 });
    expect(() => planTopics([spec('test', 3)], current)).toThrow(TopicPlanError);
    expect(() => planTopics([spec('test', 3)], current)).toThrow(
      /'test' has 6 partitions, the config asks for 3: Kafka cannot remove partitions; set topics.test.partitions=6/,
    );
  });

  it('fails when the config changes the replication factor of an existing topic', () => {
    const current = existing({ name: 'test', partitions: 3, replicationFactor: 3 });
    expect(() => planTopics([spec('test', 3, 2)], current)).toThrow(
      /replication factor 3, the config asks for 2/,
    );
  });

  it('reports every unreachable topic in one error', () => {
    const current = existing(
      { name: 'a', partitions: 6, replicationFactor: 2 },
      { name: 'b', partitions: 6, replicationFactor: 2 },
    );
    expect(() => planTopics([spec('a', 1), spec('b', 1)], current)).toThrow(/'a' has 6.*'b' has 6/);
  });
});

function metadata(name: string, partitions: number, replicas: number): ITopicMetadata {
  return {
    name,
    partitions: Array.from({ length: partitions }, (_, i) => ({
      partitionErrorCode: 0,
      partitionId: i,
      leader: 1,
      replicas: Array.from({ length: replicas }, (__, r) => r + 1),
      isr: [],
    })),
  };
}

/** A fake of the kafkajs admin whose createTopics adds the topics, each partition with a leader. */
function fakeAdmin(topics: ITopicMetadata[] = []) {
  return {
    connect: vi.fn(async () => undefined),
    disconnect: vi.fn(async () => undefined),
    listTopics: vi.fn(async () => topics.map((t) => t.name)),
    fetchTopicMetadata: vi.fn(async (o?: { topics: string[] }) => ({
      topics: topics.filter((t) => o?.topics.includes(t.name)),
    })),
    createTopics: vi.fn(async (o: { topics: ITopicConfig[] }) => {
      for (const t of o.topics)
        topics.push(metadata(t.topic, t.numPartitions ?? 1, t.replicationFactor ?? 1));
      return true;
    }),
    createPartitions: vi.fn(async () => true),
  } satisfies TopicAdmin;
}

describe('describeTopics', () => {
  it('reads partitions and replication of the requested topics that exist, and only those', async () => {
    // Prepare
    const admin = fakeAdmin([metadata('test', 3, 2), metadata('other', 1, 1)]);

    // Act
    const found = await describeTopics(admin, ['test', 'missing']);

    // Assess
    expect([...found.values()]).toEqual([{ name: 'test', partitions: 3, replicationFactor: 2 }]);
    expect(admin.fetchTopicMetadata).toHaveBeenCalledWith({ topics: ['test'] });
  });

  it('does not ask for metadata when no requested topic exists', async () => {
    const admin = fakeAdmin();
    await describeTopics(admin, ['test']);
    expect(admin.fetchTopicMetadata).not.toHaveBeenCalled();
  });
});

describe('applyPlan', () => {
  it('creates the new topics and grows the others with createPartitions', async () => {
    // Prepare
    const admin = fakeAdmin();

    // Act
    await applyPlan(admin, {
      create: [spec('new', 3)],
      grow: [{ name: 'test', from: 3, to: 6 }],
      unchanged: [],
    });

    // Assess
    // kafkajs's own wait gives up on UNKNOWN_TOPIC_OR_PARTITION; createTopicsWithLeaders waits instead.
    expect(admin.createTopics).toHaveBeenCalledWith(
      expect.objectContaining({
        waitForLeaders: false,
        topics: [{ topic: 'new', numPartitions: 3, replicationFactor: 2 }],
      }),
    );
    expect(admin.fetchTopicMetadata).toHaveBeenCalledWith({ topics: ['new'] });
    expect(admin.createPartitions).toHaveBeenCalledWith({ topicPartitions: [{ topic: 'test', count: 6 }] });
  });

  it('calls nothing for an empty plan', async () => {
    const admin = fakeAdmin();
    await applyPlan(admin, { create: [], grow: [], unchanged: ['test'] });
    expect(admin.createTopics).not.toHaveBeenCalled();
    expect(admin.createPartitions).not.toHaveBeenCalled();
  });
});

describe('buildResponse', () => {
  it('keeps the reason of a failure under the 4 KB response limit', () => {
    const response = buildResponse(parseTopicAdminEvent(event()), { ok: false, reason: 'x'.repeat(10_000) });
    expect(response.Reason.length).toBe(1_000);
    expect(response.Status).toBe('FAILED');
  });
});

describe('handler', () => {
  const context = { getRemainingTimeInMillis: () => 60_000 };

  // The handler logs one JSON line per outcome; keep the test output readable.
  beforeEach(() => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function run(input: unknown, admin: TopicAdmin) {
    const responses: CfnResponse[] = [];
    const handler = makeHandler({
      logger: new Logger({ logLevel: 'SILENT' }),
      admin: () => admin,
      respond: async (_url, body) => {
        responses.push(body);
      },
    });
    return { responses, done: handler(input, context) };
  }

  it('creates missing topics and answers SUCCESS with the stable physical id', async () => {
    // Prepare
    const admin = fakeAdmin([metadata('test', 3, 2)]);

    // Act
    const { responses, done } = run(event(), admin);
    await done;

    // Assess
    expect(admin.createTopics).toHaveBeenCalledWith(
      expect.objectContaining({
        topics: [{ topic: 'sensor-readings', numPartitions: 3, replicationFactor: 2 }],
      }),
    );
    expect(responses).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        PhysicalResourceId: PHYSICAL_RESOURCE_ID,
        Data: { Topics: 'test,sensor-readings' },
      }),
    ]);
    expect(admin.disconnect).toHaveBeenCalledTimes(1);
  });

  it('treats Delete as a no-op that never touches the brokers', async () => {
    // Prepare
    const admin = fakeAdmin([metadata('test', 3, 2)]);

    // Act
    const { responses, done } = run(
      event({ RequestType: 'Delete', PhysicalResourceId: PHYSICAL_RESOURCE_ID }),
      admin,
    );
    await done;

    // Assess
    expect(admin.connect).not.toHaveBeenCalled();
    expect(responses[0]!.Status).toBe('SUCCESS');
  });

  it('answers FAILED with the reason when the plan is impossible, and still disconnects', async () => {
    // Prepare
    const admin = fakeAdmin([metadata('test', 6, 2)]);

    // Act
    const { responses, done } = run(event(), admin);
    await done;

    // Assess
    expect(responses[0]!.Status).toBe('FAILED');
    expect(responses[0]!.Reason).toMatch(/TopicPlanError: .*'test' has 6 partitions/);
    expect(admin.disconnect).toHaveBeenCalledTimes(1);
  });

  it('answers FAILED with the broker error as cause when connecting fails', async () => {
    // Prepare
    const admin = fakeAdmin();
    admin.connect.mockRejectedValue(new Error('SASL authentication failed'));

    // Act
    const { responses, done } = run(event(), admin);
    await done;

    // Assess
    expect(responses[0]!.Reason).toMatch(/TopicApplyError: .*\(cause: SASL authentication failed\)/);
  });

  it('answers FAILED before the Lambda deadline when the brokers hang', async () => {
    // Prepare
    vi.useFakeTimers();
    const admin = fakeAdmin();
    admin.connect.mockImplementation(() => new Promise(() => undefined));

    // Act
    const { responses, done } = run(event(), admin);
    await vi.advanceTimersByTimeAsync(60_000);
    await done;
    vi.useRealTimers();

    // Assess
    expect(responses[0]!.Status).toBe('FAILED');
    expect(responses[0]!.Reason).toMatch(/Timed out after 50000 ms/);
  });

  it('throws on an event it cannot answer, since there is no response URL to use', async () => {
    const { done } = run({ RequestType: 'Create' }, fakeAdmin());
    await expect(done).rejects.toThrow(TopicEventError);
  });
});
