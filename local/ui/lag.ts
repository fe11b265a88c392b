/**
 * Consumer lag from Kafka itself: each partition's end offset against the job's committed group offset, the
 * numbers Spark's UI cannot show and MSK's `OffsetLag` metric reports. The time behind is estimated the way
 * MSK's `EstimatedMaxTimeLag` is: from when the end offset passed the committed one, interpolated between the
 * samples this process has taken (Kafka's admin API has no record timestamps).
 * https://docs.aws.amazon.com/msk/latest/developerguide/consumer-lag.html
 */
import type { Admin } from 'kafkajs';
import type { LagPartition } from './data';

export interface GroupLag {
  readonly partitions: LagPartition[];
  readonly records: number;
  /** The largest estimated time behind over the partitions; null when none could be estimated. */
  readonly seconds: number | null;
  /** `seconds` is a lower bound: that record waited longer than this process has watched its partition. */
  readonly secondsAtLeast: boolean;
  readonly members: number;
  readonly state: string;
}

interface EndSample {
  readonly t: number;
  readonly end: number;
}

/** How far back the end-offset history reaches: the time-behind estimate is capped there. */
const HISTORY_MS = 3_600_000;

/**
 * Remembers, per topic-partition, when the end offset reached each value, to answer "since when is the
 * record at this offset waiting?".
 */
export class EndOffsetHistory {
  private readonly samples = new Map<string, EndSample[]>();

  record(topic: string, partition: number, end: number, t: number): void {
    const key = `${topic}/${partition}`;
    let list = this.samples.get(key);
    if (!list) this.samples.set(key, (list = []));
    const last = list[list.length - 1];
    // Only changes matter; the newest sample of a flat stretch is kept so interpolation knows when it ended.
    if (last && last.end === end && list.length >= 2 && list[list.length - 2]!.end === end) list.pop();
    list.push({ t, end });
    while (list.length > 2 && list[0]!.t < t - HISTORY_MS) list.shift();
  }

  /**
   * Seconds the record at `committed` has waited at time `now`: 0 when nothing waits. When the history starts
   * after that record arrived, the answer is a lower bound (the history's age), and null while that age is 0.
   */
  secondsBehind(topic: string, partition: number, committed: number, now: number): number | null {
    return this.behind(topic, partition, committed, now)?.seconds ?? null;
  }

  /** `secondsBehind`, and whether it is a lower bound (`atLeast`). */
  behind(
    topic: string,
    partition: number,
    committed: number,
    now: number,
  ): { seconds: number; atLeast: boolean } | null {
    const list = this.samples.get(`${topic}/${partition}`);
    if (!list?.length) return null;
    const latest = list[list.length - 1]!;
    if (committed >= latest.end) return { seconds: 0, atLeast: false };
    const i = list.findIndex((s) => s.end > committed);
    if (i <= 0) {
      // Waiting since before the history began: at least its age. With no age yet (the first sample, just
      // taken) that bound says nothing, and 0 would read as "not behind" beside records that are.
      const age = (now - list[0]!.t) / 1000;
      return age > 0 ? { seconds: age, atLeast: true } : null;
    }
    const before = list[i - 1]!;
    const after = list[i]!;
    // The record at `committed` was appended after `before` and no later than `after`: the k-th of the n records
    // appended between them is placed at the middle of its share of that interval. Placing it at the end of its
    // share put the last record before the sample just taken at `now`, 0 s behind with a record waiting.
    const fraction = (committed + 0.5 - before.end) / (after.end - before.end);
    const arrived = before.t + fraction * (after.t - before.t);
    return { seconds: Math.max(0, (now - arrived) / 1000), atLeast: false };
  }
}

/** One lag reading of a consumer group over its topics. */
export async function readGroupLag(
  admin: Pick<Admin, 'fetchTopicOffsets' | 'fetchOffsets' | 'describeGroups'>,
  groupId: string,
  topics: readonly string[],
  history: EndOffsetHistory,
  now = Date.now(),
): Promise<GroupLag> {
  const [ends, committed, groups] = await Promise.all([
    Promise.all(topics.map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) }))),
    admin.fetchOffsets({ groupId, topics: [...topics] }),
    admin.describeGroups([groupId]),
  ]);
  const committedOf = new Map<string, number>();
  for (const t of committed)
    for (const p of t.partitions) committedOf.set(`${t.topic}/${p.partition}`, Number(p.offset));
  const partitions: LagPartition[] = [];
  for (const { topic, offsets } of ends) {
    for (const o of [...offsets].sort((a, b) => a.partition - b.partition)) {
      const end = Number(o.high);
      const low = Number(o.low);
      history.record(topic, o.partition, end, now);
      const c = committedOf.get(`${topic}/${o.partition}`);
      // -1: the group has committed nothing here yet, so everything still retained is waiting.
      const position = c === undefined || c < 0 ? null : c;
      const from = position ?? low;
      const records = Math.max(0, end - from);
      const behind =
        records === 0 ? { seconds: 0, atLeast: false } : history.behind(topic, o.partition, from, now);
      partitions.push({
        topic,
        partition: o.partition,
        endOffset: end,
        committed: position,
        records,
        seconds: behind?.seconds ?? null,
        ...(behind?.atLeast ? { secondsAtLeast: true } : {}),
      });
    }
  }
  const estimated = partitions.filter((p) => p.seconds !== null);
  const oldest = estimated.reduce<LagPartition | undefined>(
    (a, p) => (a && a.seconds! >= p.seconds! ? a : p),
    undefined,
  );
  // A partition whose waiting records have no estimate yet may be the furthest behind: the job is then at least
  // as far behind as the others say, and unknown when they say 0 (caught up beside it).
  const unknownWaiting = partitions.some((p) => p.records > 0 && p.seconds === null);
  const seconds = oldest?.seconds ?? null;
  const group = groups.groups.find((g) => g.groupId === groupId);
  return {
    partitions,
    records: partitions.reduce((n, p) => n + p.records, 0),
    seconds: unknownWaiting && !seconds ? null : seconds,
    secondsAtLeast: oldest?.secondsAtLeast === true || (unknownWaiting && Boolean(seconds)),
    members: group?.members.length ?? 0,
    state: group?.state ?? 'Unknown',
  };
}
