/**
 * The topics of the shipped jobs: the second half of the one typed schema. Each job lists the topics it reads
 * (lambda/jobs/); the CDK topic custom resource and the local setup create every topic of every job.
 */

/**
 * A legal Kafka topic name: letters, digits, dots, underscores and dashes, at most 249 characters.
 * https://kafka.apache.org/documentation/#topicconfigs (org.apache.kafka.common.internals.Topic)
 */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * A consumer group id the MSK event source mapping accepts (`AmazonManagedKafkaEventSourceConfig.ConsumerGroupId`).
 * https://docs.aws.amazon.com/lambda/latest/api/API_AmazonManagedKafkaEventSourceConfig.html
 */
export const CONSUMER_GROUP_ID = /^[a-zA-Z0-9-/*:_+=.@]{1,200}$/;

export interface TopicDef {
  readonly name: string;
  readonly doc: string;
  /** Default partition count; the config can raise it (partitions only ever grow). */
  readonly partitions: number;
}

/** The most partitions a topic may have: its definition's default, and `topics.<topic>.partitions`. */
export const MAX_TOPIC_PARTITIONS = 1000;

/** What is wrong with a topic definition, one sentence each; empty when nothing is. */
export function topicDefProblems(topic: TopicDef): string[] {
  const problems: string[] = [];
  if (typeof topic.name !== 'string' || !TOPIC_NAME.test(topic.name))
    problems.push(
      `its name '${topic.name}' is not a Kafka topic name (1 to 249 letters, digits, '.', '_' or '-')`,
    );
  if (!Number.isInteger(topic.partitions) || topic.partitions < 1 || topic.partitions > MAX_TOPIC_PARTITIONS)
    problems.push(`partitions is ${topic.partitions}: expected an integer from 1 to ${MAX_TOPIC_PARTITIONS}`);
  return problems;
}

/** The tutorial's topic: each value is the time it was sent. */
export const TEST_TOPIC: TopicDef = {
  name: 'test',
  doc: 'The tutorial stream: the current time, once a second.',
  partitions: 3,
};

/** JSON readings `{sensorId, ts, value}` for the sensor-stats job. */
export const SENSOR_TOPIC: TopicDef = {
  name: 'sensor-readings',
  doc: 'JSON sensor readings {sensorId, ts, value}.',
  partitions: 3,
};

/** JSON page views `{page, ts}` for the page-views job. */
export const PAGE_VIEWS_TOPIC: TopicDef = {
  name: 'page-views',
  doc: 'JSON page views {page, ts}.',
  partitions: 3,
};
