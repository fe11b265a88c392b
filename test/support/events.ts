/**
 * A micro-batch as the handler gets it: the values become records on one partition from offset `first`, go
 * through the real MSK event shape (toMskEvent, as the local runner builds it) and are parsed back.
 */
import { parseMskEvent, toMskEvent, type KafkaRecord, type MicroBatch } from '../../lambda/runtime/event';

export const LOCAL_CLUSTER_ARN =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/local/00000000-0000-0000-0000-000000000000-1';

export function batchOf(
  topic: string,
  values: ReadonlyArray<string | null>,
  options: { readonly first?: number; readonly partition?: number; readonly timestamp?: number } = {},
): MicroBatch {
  const first = options.first ?? 0;
  const timestamp = options.timestamp ?? Date.UTC(2026, 4, 21, 2, 20, 0);
  const records: KafkaRecord[] = values.map((value, i) => ({
    topic,
    partition: options.partition ?? 0,
    offset: BigInt(first + i),
    timestamp: timestamp + i,
    timestampType: 'CREATE_TIME',
    key: null,
    value: value === null ? null : Buffer.from(value),
    headers: [],
  }));
  return parseMskEvent(
    toMskEvent(records, { eventSourceArn: LOCAL_CLUSTER_ARN, bootstrapServers: 'localhost:9092' }),
  );
}
