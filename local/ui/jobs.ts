/**
 * The jobs the UI shows, from the job registry and the config: a new job appears on every page by itself.
 */
import type { PipelineConfig } from '../../config';
import type { JobDescriptor } from '../../config/jobs';

/** `window`: event-time windows with a watermark (charts the watermark); `transform`: per-record rows. */
export type JobKind = JobDescriptor['kind'];

export interface UiJob {
  readonly name: string;
  readonly kind: JobKind;
  readonly doc: string;
  readonly topics: readonly string[];
  /** The Kafka consumer group whose committed offsets give the consumer lag. */
  readonly consumerGroupId: string;
  /** The micro-batch interval: how long a healthy job may go without a batch. */
  readonly batchingWindowSeconds: number;
  /** Partitions per topic from the config, for when Kafka cannot be asked. */
  readonly partitionsPerTopic: Readonly<Record<string, number>>;
}

export function uiJobs(
  jobs: readonly JobDescriptor[],
  config: Pick<PipelineConfig, 'jobs' | 'topics'>,
): UiJob[] {
  return jobs.map((job) => {
    const topics = job.topics.map((t) => t.name);
    const source = config.jobs[job.name]!;
    return {
      name: job.name,
      kind: job.kind,
      doc: job.doc,
      topics,
      consumerGroupId: source.consumerGroupId,
      batchingWindowSeconds: source.maxBatchingWindowSeconds,
      partitionsPerTopic: Object.fromEntries(topics.map((t) => [t, config.topics[t]?.partitions ?? 1])),
    };
  });
}
