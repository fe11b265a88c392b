/**
 * The jobs the UI shows, from one function. Today they come from the typed job catalog and the config; when a
 * job registry replaces the catalog, only `uiJobs` changes, and a new job appears on every page by itself.
 */
import { JOB_CATALOG, JOB_NAMES } from '../../schema';
import type { PipelineConfig } from '../../config';

/** `window`: event-time windows with a watermark (charts the watermark); `transform`: per-record rows. */
export type JobKind = 'window' | 'transform';

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

const KINDS: Readonly<Record<(typeof JOB_NAMES)[number], JobKind>> = {
  'sent-received': 'transform',
  'sensor-stats': 'window',
};

export function uiJobs(config: Pick<PipelineConfig, 'jobs' | 'topics'>): UiJob[] {
  return JOB_NAMES.map((name) => ({
    name,
    kind: KINDS[name],
    doc: JOB_CATALOG[name].doc,
    topics: JOB_CATALOG[name].topics,
    consumerGroupId: config.jobs[name].consumerGroupId,
    batchingWindowSeconds: config.jobs[name].maxBatchingWindowSeconds,
    partitionsPerTopic: Object.fromEntries(
      JOB_CATALOG[name].topics.map((t) => [t, config.topics[t]?.partitions ?? 1]),
    ),
  }));
}
