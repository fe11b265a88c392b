/**
 * The one typed config of the pipeline, shared by the CDK app (`bin/app.ts`) and the local runner
 * (`local/`). It has no CDK imports: it reads values through a getter, so CDK context, `cdk.json` and the
 * local CLI all feed it the same way.
 *
 * Keys are dotted paths (`jobs.sent-received.batchSize`). A value may come flat (`-c jobs.sent-received.batchSize=500`)
 * or nested in `cdk.json` context (`{"jobs": {"sent-received": {"batchSize": 500}}}`). Strings from `-c` are
 * parsed as numbers and booleans where the key expects one. An invalid value throws a `ConfigError` that
 * names the key, the value received and what is allowed.
 */
import {
  CONSUMER_GROUP_ID,
  DEFAULT_KEYSPACE,
  MAX_TOPIC_PARTITIONS,
  MAX_TTL_SECONDS,
  RUNTIME_TABLE_DEFS,
  assertIdentifier,
  isReservedWord,
} from '../schema';
import { eventSourceGroupIds, redriveGroupId } from './env';
import { jobTablesOf, topicsOf, type JobDescriptor, type OptionSpec } from './jobs';
import {
  assertKafkaFilter,
  DEFAULT_FILTERS_PER_EVENT_SOURCE,
  FilterPatternError,
  MAX_FILTERS,
  type FilterPattern,
} from './filters';

export type KafkaMode = 'provisioned' | 'serverless';
export const KAFKA_MODES: readonly KafkaMode[] = ['provisioned', 'serverless'];

export type KeyspaceRemovalPolicy = 'retain' | 'destroy';
export const KEYSPACE_REMOVAL_POLICIES: readonly KeyspaceRemovalPolicy[] = ['retain', 'destroy'];

/** The names of Lambda's `StartingPosition` for Kafka event sources. */
export type StartingPosition = 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';
export const STARTING_POSITIONS: readonly StartingPosition[] = ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'];

/**
 * Provisioned event pollers for one job's event source mapping. Lambda offers the error-handling controls
 * (retryAttempts, maxRecordAgeSeconds, bisectBatchOnError, reportBatchItemFailures) on Kafka event sources
 * only in provisioned mode: https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html
 * Provisioned pollers are billed per event poller unit hour: https://aws.amazon.com/lambda/pricing/
 */
export interface ProvisionedPollersConfig {
  /** At least 1, at most 200 (the ESM's ProvisionedPollerConfig.MinimumPollers range). */
  readonly minimumPollers: number;
  /** At least minimumPollers, at most 2,000. */
  readonly maximumPollers: number;
}

/** The error-handling knobs that need provisioned pollers on an MSK event source. */
export const PROVISIONED_ONLY_KNOBS = [
  'retryAttempts',
  'maxRecordAgeSeconds',
  'bisectBatchOnError',
  'reportBatchItemFailures',
] as const;

/** What Lambda does with on-demand pollers, where the knobs above cannot be set. */
export const ON_DEMAND_BEHAVIOUR = {
  retryAttempts: -1,
  maxRecordAgeSeconds: -1,
  bisectBatchOnError: false,
  reportBatchItemFailures: false,
} as const satisfies Record<(typeof PROVISIONED_ONLY_KNOBS)[number], number | boolean>;

/**
 * The micro-batch knobs, named as CDK's `ManagedKafkaEventSource` props so that a reader of either finds the
 * same word. The local runner honours every one of them.
 */
export interface EventSourceConfig {
  /** Records per batch, at most 10,000 (the MSK event source's limit). */
  readonly batchSize: number;
  /** The batching window in seconds, at most 300: the micro-batch interval. */
  readonly maxBatchingWindowSeconds: number;
  readonly startingPosition: StartingPosition;
  /** Epoch seconds, from 1 to now (Lambda refuses a future one); required with AT_TIMESTAMP and refused otherwise. */
  readonly startingPositionTimestamp: number | undefined;
  /** The consumer group id; defaults to `<stage>-<job>`. */
  readonly consumerGroupId: string;
  /**
   * Retries of a failed batch before it goes to the on-failure destination; -1 retries until the record expires.
   * Settable only with provisioned pollers; with on-demand pollers it is -1, which is what Lambda does there.
   */
  readonly retryAttempts: number;
  /** Records older than this are not retried; -1 means no limit. Provisioned pollers only (else -1). */
  readonly maxRecordAgeSeconds: number;
  /** Split a failing batch in two and retry each half. Provisioned pollers only (else false). */
  readonly bisectBatchOnError: boolean;
  /**
   * Always false: the handlers dead-letter a record that cannot be applied and fail a batch whole otherwise, so
   * they have no item failures to report (`jobs.<job>.reportBatchItemFailures=true` is refused, with the reason).
   */
  readonly reportBatchItemFailures: boolean;
  /**
   * Provisioned pollers (`jobs.<job>.provisionedPollers.minimumPollers` / `.maximumPollers`); `undefined` keeps Lambda's on-demand
   * pollers, which cost nothing extra but hold the error-handling knobs above at what Lambda does there.
   */
  readonly provisionedPollers: ProvisionedPollersConfig | undefined;
  /**
   * Lambda event filter patterns on the record value (`jobs.<job>.filters`, a JSON list): the event source
   * delivers only records that match one of them, and the checkpoint counts the others as filtered. Empty: every
   * record is delivered. https://docs.aws.amazon.com/lambda/latest/dg/kafka-filtering.html
   */
  readonly filters: readonly FilterPattern[];
}

/**
 * The consumers' Lambda memory, MB. Memory sets both the CPU share (one vCPU at 1,769 MB) and, through the Node.js
 * runtime's bootstrap, the V8 heap (semi-space memory/20). Measured with `npm run bench` (the deployed bundle in
 * Lambda-sized processes, 10,000-record batches, issue 12; bench/README.md): at 512 MB the handler spent 4–6 µs per
 * record in garbage-collection pauses (4–5 major collections in 10 batches), at 1024 MB 2–3 µs (1–2), in every round
 * measured; its CPU per record was lower at 1024 MB in 5 of 8 interleaved rounds (medians 17.0–19.8 against
 * 20.1–20.4 µs). With twice the CPU share, a CPU-bound batch takes half the time for about the same cost
 * (`microbatch plan --memory`). `jobs.<job>.memorySize` sets it per job.
 */
export const CONSUMER_MEMORY_MB = 1024;

/**
 * The consumers' Lambda timeout, seconds: five minutes, room for a full batch that retries its writes. The local
 * runner gives up on an invocation after the same time, as Lambda does, and retries the batch.
 */
export const CONSUMER_TIMEOUT_SECONDS = 300;

/**
 * The longest timeout of a function behind a Kafka event source mapping: 14 minutes.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html
 */
export const KAFKA_EVENT_SOURCE_MAX_TIMEOUT_SECONDS = 14 * 60;

/** The job's consumer function. */
export interface FunctionJobConfig {
  /** The consumer function's memory in MB (`jobs.<job>.memorySize`): also its CPU share and its V8 heap. */
  readonly memorySize: number;
  /** The consumer function's timeout in seconds (`jobs.<job>.timeoutSeconds`), in the cloud and locally. */
  readonly timeoutSeconds: number;
}

export interface RuntimeJobConfig {
  /**
   * Fail the batch when offsets below its first one were never applied (Spark's `failOnDataLoss`), which halts
   * the partition: on-demand pollers retry it until its records expire; with provisioned pollers the config
   * requires `retryAttempts` and `maxRecordAgeSeconds` of -1 for the same effect. Off (the default), such a gap is
   * kept as a skipped range for `redrive`.
   */
  readonly failOnDataLoss: boolean;
}

/** The values of a job's own options (see `JobDescriptor.options`). */
export type JobOptionValues = Readonly<Record<string, number | string | boolean>>;

/** One job's config: the event source knobs, `failOnDataLoss`, the consumer's memory, and the job's own options. */
export interface JobConfig<O = JobOptionValues>
  extends EventSourceConfig, RuntimeJobConfig, FunctionJobConfig {
  readonly options: O;
}

export interface TopicConfig {
  readonly partitions: number;
  readonly replicationFactor: number;
}

export interface PipelineConfig {
  /** Prefixes every resource name; one stage per deployment. */
  readonly stage: string;
  readonly kafka: {
    readonly mode: KafkaMode;
    /** The MSK Kafka version (provisioned mode only), one of `MSK_KAFKA_VERSIONS`. */
    readonly version: string;
    readonly brokerInstanceType: string;
    /** Brokers across the AZs; a multiple of the AZ count. */
    readonly brokerCount: number;
    /** EBS storage per broker in GiB (provisioned mode only). */
    readonly brokerStorageGiB: number;
  };
  readonly topics: Readonly<Record<string, TopicConfig>>;
  /** Per job of the registry, by name. */
  readonly jobs: Readonly<Record<string, JobConfig>>;
  readonly keyspace: {
    readonly name: string;
    readonly pointInTimeRecovery: boolean;
    /** TTL in seconds per table; 0 keeps rows forever. */
    readonly ttlSeconds: Readonly<Record<string, number>>;
    /** What `cdk destroy` does to the keyspace and its tables: `retain` keeps the data, `destroy` deletes it. */
    readonly removalPolicy: KeyspaceRemovalPolicy;
  };
  readonly producer: {
    readonly enabled: boolean;
    /** Messages per second to topic `test`. */
    readonly ratePerSecond: number;
  };
  readonly redrive: {
    /**
     * Minutes between the runs of each job's redrive function (1 to 1440); 0 runs it only on demand. Either way
     * it can be invoked at any time.
     */
    readonly scheduleMinutes: number;
  };
  /** Alarm notifications go here when set. */
  readonly alarmEmail: string | undefined;
  readonly logRetentionDays: number;
}

/** Raised for an invalid config value; `key` is the dotted context key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly key: string,
    readonly received: unknown,
    expected: string,
    /** How to fix it, where setting the key to another value is not the way. */
    fix = `Set it in cdk.json context or with -c ${key}=<value>.`,
  ) {
    super(`Invalid config '${key}': received ${JSON.stringify(received)}; expected ${expected}. ${fix}`);
  }
}

/** Reads one raw value by dotted key. */
export type ContextGetter = (key: string) => unknown;

/** A getter over a plain object: a flat dotted key wins, else the nested path is followed. */
export function objectGetter(context: Record<string, unknown>): ContextGetter {
  return (key) => {
    if (key in context) return context[key];
    let node: unknown = context;
    for (const part of key.split('.')) {
      if (node === null || typeof node !== 'object' || !(part in node)) return undefined;
      node = (node as Record<string, unknown>)[part];
    }
    return node;
  };
}

/**
 * Every dotted key of a nested context object, down to its leaves (a list is a leaf: `filters`). With the
 * place the keys come from, for `loadConfig`'s check of unknown keys.
 */
export function contextKeys(context: Readonly<Record<string, unknown>>, place: string): PresentKey[] {
  const out: PresentKey[] = [];
  const walk = (node: unknown, path: string) => {
    if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.keys(node).length) {
      for (const [k, v] of Object.entries(node)) walk(v, path ? `${path}.${k}` : k);
    } else if (path) out.push({ key: path, place });
  };
  walk(context, '');
  return out;
}

/** A key given in the config, and where it was given (`cdk.json context`, `-c`, ...). */
export interface PresentKey {
  readonly key: string;
  readonly place: string;
  /**
   * Given to the pipeline alone (`microbatch -c`), where no other tool's keys can be: an unknown key outside the
   * pipeline's namespaces is a mistake too. @default false - keys outside them are CDK's or the user's own
   */
  readonly ours?: boolean;
}

/** The top-level names of the pipeline's config; keys outside them (CDK's feature flags, lookups) are not ours. */
export const CONFIG_NAMESPACES = [
  'stage',
  'kafka',
  'quotas',
  'topics',
  'jobs',
  'keyspace',
  'producer',
  'redrive',
  'alarmEmail',
  'logRetentionDays',
] as const;

/** Raised for a config key the pipeline does not know (a typo, or a job that does not exist). */
export class UnknownConfigKeyError extends ConfigError {
  constructor(
    readonly present: PresentKey,
    readonly suggestion: string | undefined,
  ) {
    super(present.key, undefined, 'a known key');
    this.message =
      `Unknown config key '${present.key}' (given in ${present.place}): ` +
      (suggestion
        ? `did you mean '${suggestion}'?`
        : 'the pipeline has no such setting; docs/cloud.md lists every key.');
  }
}

/** The edit distance of two strings (Levenshtein), for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The candidate closest to `word`, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

class Reader {
  /** Every key read, known or not given: what the config knows. */
  readonly known = new Set<string>();
  constructor(private readonly get: ContextGetter) {}

  raw(key: string): unknown {
    this.known.add(key);
    const v = this.get(key);
    return v === '' ? undefined : v;
  }

  int(key: string, fallback: number, min: number, max: number, extra: readonly number[] = []): number {
    const v = this.raw(key);
    if (v === undefined || v === null) return fallback;
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    const allowed = `an integer from ${min} to ${max}${extra.length ? ` or ${extra.join(', ')}` : ''}`;
    if (typeof n !== 'number' || !Number.isInteger(n)) throw new ConfigError(key, v, allowed);
    if (!extra.includes(n) && (n < min || n > max)) throw new ConfigError(key, v, allowed);
    return n;
  }

  intIn(key: string, fallback: number, allowed: readonly number[]): number {
    const n = this.int(key, fallback, Math.min(...allowed), Math.max(...allowed));
    if (!allowed.includes(n)) throw new ConfigError(key, this.raw(key), `one of ${allowed.join(', ')}`);
    return n;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined || v === null) return fallback;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw new ConfigError(key, v, 'true or false');
  }

  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    throw new ConfigError(key, v, `one of ${allowed.join(', ')}`);
  }

  str(key: string, fallback: string, pattern: RegExp, describe: string): string {
    const v = this.raw(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'string' && pattern.test(v)) return v;
    throw new ConfigError(key, v, describe);
  }

  optionalStr(key: string, pattern: RegExp, describe: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string' && pattern.test(v)) return v;
    throw new ConfigError(key, v, describe);
  }
}

/** The retention periods CloudWatch Logs accepts, up to a year. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365] as const;

const STAGE = /^[a-z][a-z0-9-]{0,15}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * Each consumer group read by one reader only. Two event source mappings with one group fail to deploy (Lambda
 * requires unique group IDs), and a job's live consumer in another job's redrive group (`<id>-redrive`) would
 * share its partitions with that redrive, whose runs reset the group's offsets. Checked on the groups as the
 * stacks derive them (`eventSourceGroupIds`, `redriveGroupId`), length included.
 */
function assertDistinctConsumerGroups(
  jobs: Readonly<Record<string, JobConfig>>,
  descriptors: readonly JobDescriptor[],
): void {
  const readers = new Map<string, string>();
  for (const descriptor of descriptors) {
    const key = `jobs.${descriptor.name}.consumerGroupId`;
    const id = jobs[descriptor.name]!.consumerGroupId;
    const groups = Object.entries(
      eventSourceGroupIds(
        id,
        descriptor.topics.map((t) => t.name),
      ),
    ).map(([topic, group]) => ({
      group,
      reader: `job ${descriptor.name}'s event source mapping on topic ${topic}`,
    }));
    groups.push({ group: redriveGroupId(id), reader: `job ${descriptor.name}'s redrive` });
    for (const { group, reader } of groups) {
      if (!CONSUMER_GROUP_ID.test(group)) {
        throw new ConfigError(
          key,
          id,
          `a shorter id: ${reader} reads with group '${group}', over the limit of 200 characters`,
        );
      }
      const other = readers.get(group);
      if (other !== undefined) {
        throw new ConfigError(
          key,
          id,
          `an id whose groups no other reader uses: '${group}' would be the group of ${reader} and of ${other}. ` +
            `Give each job its own consumerGroupId (the default is <stage>-<job>)`,
        );
      }
      readers.set(group, reader);
    }
  }
}

/**
 * A consumer group id the event source mapping accepts, short enough for the redrive's own group
 * (`<id>-redrive`, config/env.ts) to be one too.
 */
function readConsumerGroupId(r: Reader, key: string, fallback: string): string {
  const id = r.str(
    key,
    fallback,
    CONSUMER_GROUP_ID,
    'up to 200 of the characters a-z A-Z 0-9 - / * : _ + = . @',
  );
  if (!CONSUMER_GROUP_ID.test(redriveGroupId(id)))
    throw new ConfigError(
      key,
      id,
      `at most ${200 - (redriveGroupId(id).length - id.length)} characters, so that its redrive group ${redriveGroupId('<id>')} fits the limit of 200`,
    );
  return id;
}

/** The largest epoch seconds the config parses as a starting position (year 3000); the check against now binds first. */
const MAX_STARTING_POSITION_TIMESTAMP = 32_503_680_000;

function readEventSource(r: Reader, stage: string, descriptor: JobDescriptor): EventSourceConfig {
  const job = descriptor.name;
  const defaults = descriptor.eventSourceDefaults ?? {};
  const p = `jobs.${job}`;
  const startingPosition = r.oneOf(
    `${p}.startingPosition`,
    defaults.startingPosition ?? 'TRIM_HORIZON',
    STARTING_POSITIONS,
  );
  const ts = r.raw(`${p}.startingPositionTimestamp`);
  let startingPositionTimestamp: number | undefined;
  if (startingPosition === 'AT_TIMESTAMP') {
    if (ts === undefined || ts === null) {
      throw new ConfigError(
        `${p}.startingPositionTimestamp`,
        ts,
        'epoch seconds, required when startingPosition is AT_TIMESTAMP',
      );
    }
    // Lambda refuses a StartingPositionTimestamp in the future, and CDK's event source mapping treats 0 as no
    // timestamp at all: https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
    const now = Math.floor(Date.now() / 1000);
    startingPositionTimestamp = r.int(
      `${p}.startingPositionTimestamp`,
      0,
      1,
      MAX_STARTING_POSITION_TIMESTAMP,
    );
    if (startingPositionTimestamp > now) {
      throw new ConfigError(
        `${p}.startingPositionTimestamp`,
        ts,
        `epoch seconds no later than now (${now}): Lambda refuses a starting position in the future. Use a past ` +
          `time, or startingPosition=LATEST to read only what arrives from now on`,
      );
    }
  } else if (ts !== undefined && ts !== null) {
    throw new ConfigError(
      `${p}.startingPositionTimestamp`,
      ts,
      `no value unless startingPosition is AT_TIMESTAMP (it is ${startingPosition})`,
    );
  }
  const provisionedPollers = readProvisionedPollers(r, p);
  const provisioned = provisionedPollers !== undefined;
  if (!provisioned) {
    // On-demand pollers: Lambda does not offer these knobs for MSK, so any other value would be silently
    // ignored. The value that matches what Lambda does there (retry until expiry, no split) is accepted, so
    // that a config can round-trip through JSON (the handlers read MICROBATCH_JOB_CONFIG back).
    for (const knob of PROVISIONED_ONLY_KNOBS) {
      const raw = r.raw(`${p}.${knob}`);
      if (raw === undefined || raw === null) continue;
      const same = String(raw) === String(ON_DEMAND_BEHAVIOUR[knob]);
      if (!same) {
        throw new ConfigError(
          `${p}.${knob}`,
          raw,
          `no value (or ${ON_DEMAND_BEHAVIOUR[knob]}) while ${p} uses on-demand pollers: Lambda supports ${knob} ` +
            'on MSK event sources only in provisioned mode ' +
            '(https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html)',
          `Remove ${p}.${knob}, or give the event source provisioned pollers ` +
            `(-c ${p}.provisionedPollers.minimumPollers=1) to use it.`,
        );
      }
    }
  }
  return {
    filters: readFilters(r, `${p}.filters`),
    batchSize: r.int(`${p}.batchSize`, defaults.batchSize ?? 10_000, 1, 10_000),
    maxBatchingWindowSeconds: r.int(
      `${p}.maxBatchingWindowSeconds`,
      defaults.maxBatchingWindowSeconds ?? 5,
      0,
      300,
    ),
    startingPosition,
    startingPositionTimestamp,
    consumerGroupId: readConsumerGroupId(r, `${p}.consumerGroupId`, `${stage}-${job}`),
    // The MSK event source's ranges: https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
    // With on-demand pollers the values are what Lambda does there: retry until the record expires, no split.
    retryAttempts: provisioned
      ? r.int(`${p}.retryAttempts`, 3, 0, 10_000, [-1])
      : ON_DEMAND_BEHAVIOUR.retryAttempts,
    maxRecordAgeSeconds: provisioned
      ? r.int(`${p}.maxRecordAgeSeconds`, -1, 60, 604_800, [-1])
      : ON_DEMAND_BEHAVIOUR.maxRecordAgeSeconds,
    bisectBatchOnError: provisioned
      ? r.bool(`${p}.bisectBatchOnError`, false)
      : ON_DEMAND_BEHAVIOUR.bisectBatchOnError,
    reportBatchItemFailures: provisioned
      ? readReportBatchItemFailures(r, `${p}.reportBatchItemFailures`)
      : ON_DEMAND_BEHAVIOUR.reportBatchItemFailures,
    provisionedPollers,
  };
}

/**
 * Only `false`: the handlers never answer with `batchItemFailures`, so `true` would change nothing but the
 * template. A record that cannot be applied goes to the job's dead letters and its batch goes on; a batch that
 * fails (Cassandra unreachable, a throttled write after its retries) fails whole, and the partition's checkpoint
 * makes the retry apply only the offsets it does not cover (lambda/runtime/checkpoint.ts). A partial batch
 * response has nothing left to report.
 */
function readReportBatchItemFailures(r: Reader, key: string): false {
  if (!r.bool(key, false)) return false;
  throw new ConfigError(
    key,
    true,
    "false (or no value): the handlers never report item failures. A record that cannot be applied goes to the job's " +
      'dead letters and its batch goes on; a failed batch is retried whole and its checkpoint skips what was applied',
  );
}

/** Filter patterns: a list in cdk.json, or its JSON text from `-c`. Each is checked as Lambda would. */
function readFilters(r: Reader, key: string): FilterPattern[] {
  let raw = r.raw(key);
  if (raw === undefined || raw === null) return [];
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw) as unknown;
    } catch {
      throw new ConfigError(
        key,
        raw,
        'a JSON list of filter patterns, e.g. [{"value":{"sensorId":["s-1"]}}]',
      );
    }
  }
  if (!Array.isArray(raw) || raw.length > MAX_FILTERS) {
    throw new ConfigError(key, raw, `a list of at most ${MAX_FILTERS} filter patterns`);
  }
  raw.forEach((pattern, i) => {
    try {
      assertKafkaFilter(pattern, `${key}[${i}]`);
    } catch (error) {
      if (error instanceof FilterPatternError) throw new ConfigError(key, pattern, error.message);
      throw error;
    }
  });
  return raw as FilterPattern[];
}

/** Provisioned pollers when either bound is set; the ranges of the ESM's ProvisionedPollerConfig. */
function readProvisionedPollers(r: Reader, p: string): ProvisionedPollersConfig | undefined {
  const k = `${p}.provisionedPollers`;
  const min = r.raw(`${k}.minimumPollers`);
  const max = r.raw(`${k}.maximumPollers`);
  if ((min === undefined || min === null) && (max === undefined || max === null)) return undefined;
  const minimumPollers = r.int(`${k}.minimumPollers`, 1, 1, 200);
  const maximumPollers = r.int(`${k}.maximumPollers`, Math.max(minimumPollers, 2), 1, 2_000);
  if (maximumPollers < minimumPollers) {
    throw new ConfigError(
      `${k}.maximumPollers`,
      maximumPollers,
      `at least ${k}.minimumPollers (${minimumPollers})`,
    );
  }
  return { minimumPollers, maximumPollers };
}

/**
 * The Kafka versions an MSK provisioned cluster with Standard brokers (the `kafka.*` instance types) accepts and
 * still supports, as MSK names them: `<major>.<minor>.x` runs ZooKeeper, `<major>.<minor>.x.kraft` KRaft (from
 * 3.7.x on). Kafka 4 has no ZooKeeper mode, so MSK offers 4.x as `.kraft` only.
 * https://docs.aws.amazon.com/msk/latest/developerguide/supported-kafka-versions.html (3.6.0 and older: end of
 * support) and https://docs.aws.amazon.com/msk/latest/developerguide/metadata-management.html#kraft-intro
 */
export const MSK_KAFKA_VERSIONS = [
  '3.7.x',
  '3.7.x.kraft',
  '3.8.x',
  '3.8.x.kraft',
  '3.9.x',
  '3.9.x.kraft',
  '4.0.x.kraft',
  '4.1.x.kraft',
] as const;

/** The `kafka.*` keys of a provisioned cluster, which MSK Serverless has no use for. */
const PROVISIONED_CLUSTER_KEYS = [
  'kafka.version',
  'kafka.brokerInstanceType',
  'kafka.brokerCount',
  'kafka.brokerStorageGiB',
] as const;

/** Versions MSK offers only on Express brokers (`express.*` instance types), which this pipeline does not size. */
const MSK_EXPRESS_ONLY_VERSIONS = ['4.2.x.kraft'];

function readKafkaVersion(r: Reader): string {
  const key = 'kafka.version';
  const v = r.raw(key);
  if (v === undefined || v === null) return '3.9.x';
  if (typeof v === 'string' && (MSK_KAFKA_VERSIONS as readonly string[]).includes(v)) return v;
  const listed = `one of ${MSK_KAFKA_VERSIONS.join(', ')}`;
  if (typeof v === 'string') {
    const zookeeper4 = /^([4-9]|\d{2,})\.\d+\.x$/.exec(v);
    if (zookeeper4 && MSK_KAFKA_VERSIONS.includes(`${v}.kraft` as (typeof MSK_KAFKA_VERSIONS)[number])) {
      throw new ConfigError(
        key,
        v,
        `'${v}.kraft': MSK runs Kafka 4 in KRaft mode only, and has no ZooKeeper '${v}' (${listed})`,
      );
    }
    if (MSK_EXPRESS_ONLY_VERSIONS.includes(v)) {
      throw new ConfigError(
        key,
        v,
        `${listed}; MSK offers ${v} on Express brokers only, not on kafka.* brokers`,
      );
    }
  }
  throw new ConfigError(key, v, `${listed} (the MSK names; '.kraft' selects KRaft mode)`);
}

/**
 * MSK's default quota of Standard brokers per cluster: 30 for a ZooKeeper cluster, 60 for a KRaft one (`.kraft`
 * versions, and every Kafka 4). https://docs.aws.amazon.com/msk/latest/developerguide/limits.html#msk-provisioned-quota
 */
const MAX_BROKERS = { zookeeper: 30, kraft: 60 } as const;

/** `kafka.brokerCount`: even (the VPC spans 2 AZs), and within the quota of the version's metadata mode. */
function readBrokerCount(r: Reader, version: string): number {
  const key = 'kafka.brokerCount';
  const kraft = version.endsWith('.kraft');
  const brokerCount = r.int(key, 2, 2, MAX_BROKERS.kraft);
  if (brokerCount % 2 !== 0) throw new ConfigError(key, brokerCount, 'a multiple of 2 (the VPC spans 2 AZs)');
  if (!kraft && brokerCount > MAX_BROKERS.zookeeper) {
    throw new ConfigError(
      key,
      brokerCount,
      `at most ${MAX_BROKERS.zookeeper} with kafka.version=${version} (ZooKeeper): MSK's quota of brokers per cluster ` +
        `is ${MAX_BROKERS.zookeeper} with ZooKeeper and ${MAX_BROKERS.kraft} with KRaft. Use fewer brokers, or a ` +
        `'.kraft' version on a new stage (MSK cannot switch an existing cluster to KRaft)`,
    );
  }
  return brokerCount;
}

/**
 * Builds and validates the whole config, for the jobs given (the registry's, or a handler's own). Throws a
 * `ConfigError` on the first invalid value. With `present` (the keys the config sources hold, and where), a key
 * under the pipeline's namespaces that the config does not know fails too, with the closest known key.
 */
export function loadConfig(
  get: ContextGetter,
  jobDescriptors: readonly JobDescriptor[],
  present: readonly PresentKey[] = [],
): PipelineConfig {
  const r = new Reader(get);
  const stage = r.str(
    'stage',
    'dev',
    STAGE,
    'a lower-case letter then up to 15 lower-case letters, digits or dashes',
  );
  const mode = r.oneOf('kafka.mode', 'provisioned', KAFKA_MODES);
  if (mode === 'serverless') {
    // MSK Serverless sizes its own brokers and storage and picks the Kafka version: these keys would be dropped.
    // https://docs.aws.amazon.com/msk/latest/developerguide/serverless.html
    for (const key of PROVISIONED_CLUSTER_KEYS) {
      const v = r.raw(key);
      if (v !== undefined && v !== null) {
        throw new ConfigError(
          key,
          v,
          'no value while kafka.mode is serverless (MSK Serverless chooses its own brokers, storage and Kafka ' +
            'version): remove the key, or set kafka.mode=provisioned',
        );
      }
    }
  }
  const version = readKafkaVersion(r);
  const brokerCount = readBrokerCount(r, version);
  const kafka = {
    mode,
    version,
    brokerInstanceType: r.str(
      'kafka.brokerInstanceType',
      'kafka.t3.small',
      /^kafka\.[a-z0-9]+\.[a-z0-9]+$/,
      "an MSK broker type such as 'kafka.t3.small'",
    ),
    brokerCount,
    brokerStorageGiB: r.int('kafka.brokerStorageGiB', 10, 1, 16_384),
  };

  const defaultReplication = mode === 'serverless' ? 3 : Math.min(3, brokerCount);
  const topics: Record<string, TopicConfig> = {};
  for (const topic of topicsOf(jobDescriptors)) {
    const replicationFactor = r.int(`topics.${topic.name}.replicationFactor`, defaultReplication, 1, 3);
    if (mode === 'provisioned' && replicationFactor > brokerCount) {
      throw new ConfigError(
        `topics.${topic.name}.replicationFactor`,
        replicationFactor,
        `at most kafka.brokerCount (${brokerCount})`,
      );
    }
    if (mode === 'serverless' && replicationFactor !== 3) {
      // MSK Serverless fixes the replication factor at 3: https://docs.aws.amazon.com/msk/latest/developerguide/serverless-config.html
      throw new ConfigError(
        `topics.${topic.name}.replicationFactor`,
        replicationFactor,
        '3 when kafka.mode is serverless (MSK Serverless always replicates 3 times)',
      );
    }
    topics[topic.name] = {
      partitions: r.int(`topics.${topic.name}.partitions`, topic.partitions, 1, MAX_TOPIC_PARTITIONS),
      replicationFactor,
    };
  }

  const jobs: Record<string, JobConfig> = {};
  for (const descriptor of jobDescriptors) jobs[descriptor.name] = readJob(r, stage, descriptor);
  assertDistinctConsumerGroups(jobs, jobDescriptors);
  const filtersPerEventSource = r.int(
    'quotas.filtersPerEventSourceMapping',
    DEFAULT_FILTERS_PER_EVENT_SOURCE,
    DEFAULT_FILTERS_PER_EVENT_SOURCE,
    MAX_FILTERS,
  );
  for (const [name, job] of Object.entries(jobs)) {
    if (job.filters.length > filtersPerEventSource) {
      throw new ConfigError(
        `jobs.${name}.filters`,
        job.filters,
        `at most ${filtersPerEventSource} filter patterns, the account's quota of filters per event source ` +
          `mapping (${DEFAULT_FILTERS_PER_EVENT_SOURCE} unless raised in Service Quotas, up to ${MAX_FILTERS}). ` +
          'Merge patterns (a pattern lists several values per field), or raise the quota and set ' +
          'quotas.filtersPerEventSourceMapping',
      );
    }
  }

  // A keyspace's name is unique in an account and region, like every named resource: a stage other than the
  // tutorial's `dev` gets its own, or its deploy would fail on the keyspace of `dev`.
  const keyspaceName = r.str(
    'keyspace.name',
    stage === 'dev' ? DEFAULT_KEYSPACE : `${stage.replace(/-/g, '_')}_${DEFAULT_KEYSPACE}`,
    /^[a-zA-Z][a-zA-Z0-9_]{0,47}$/,
    'a letter then up to 47 letters, digits or underscores',
  );
  if (isReservedWord(keyspaceName))
    throw new ConfigError('keyspace.name', keyspaceName, 'a name that is not a CQL reserved word');
  assertIdentifier('keyspace', keyspaceName);
  const ttlSeconds = Object.fromEntries(
    [...jobTablesOf(jobDescriptors), ...RUNTIME_TABLE_DEFS].map((t) => [
      t.name,
      r.int(`keyspace.ttlSeconds.${t.name}`, t.defaultTtlSeconds, 0, MAX_TTL_SECONDS),
    ]),
  );

  const config: PipelineConfig = {
    stage,
    kafka,
    topics,
    jobs,
    keyspace: {
      name: keyspaceName,
      pointInTimeRecovery: r.bool('keyspace.pointInTimeRecovery', true),
      ttlSeconds,
      removalPolicy: r.oneOf('keyspace.removalPolicy', 'retain', KEYSPACE_REMOVAL_POLICIES),
    },
    producer: {
      enabled: r.bool('producer.enabled', true),
      ratePerSecond: r.int('producer.ratePerSecond', 1, 1, 100),
    },
    redrive: { scheduleMinutes: r.int('redrive.scheduleMinutes', 15, 0, 1440) },
    alarmEmail: r.optionalStr('alarmEmail', EMAIL, 'an email address'),
    logRetentionDays: r.intIn('logRetentionDays', 14, LOG_RETENTION_DAYS),
  };
  rejectUnknownKeys(present, r.known, jobDescriptors);
  return config;
}

/**
 * A job's config as `loadConfig` reads it back (the JSON the stacks put in `MICROBATCH_JOB_CONFIG`): its options
 * next to the event-source knobs, as in `jobs.<job>.*`, not nested.
 */
export function jobConfigInput(config: JobConfig): Record<string, unknown> {
  const { options, ...rest } = config;
  return { ...rest, ...options };
}

/** One job's config: its event source, `failOnDataLoss`, and its own options. */
function readJob(r: Reader, stage: string, descriptor: JobDescriptor): JobConfig {
  const p = `jobs.${descriptor.name}`;
  const options: Record<string, number | string | boolean> = {};
  for (const [name, spec] of Object.entries(descriptor.options))
    options[name] = readOption(r, `${p}.${name}`, spec);
  const problem = descriptor.check?.(options as never);
  if (problem) throw new ConfigError(`${p}.${problem.option}`, problem.value, problem.expected);
  const c: JobConfig = {
    ...readEventSource(r, stage, descriptor),
    failOnDataLoss: r.bool(`${p}.failOnDataLoss`, false),
    // Lambda's range: https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
    memorySize: r.int(`${p}.memorySize`, CONSUMER_MEMORY_MB, 128, 10_240),
    timeoutSeconds: r.int(
      `${p}.timeoutSeconds`,
      CONSUMER_TIMEOUT_SECONDS,
      1,
      KAFKA_EVENT_SOURCE_MAX_TIMEOUT_SECONDS,
    ),
    options,
  };
  // `failOnDataLoss` must halt the partition, as Spark fails the query. With on-demand pollers Lambda retries a
  // failing batch until its records expire, which halts it. With provisioned pollers, a finite `retryAttempts` or
  // `maxRecordAgeSeconds` would send the batch to the on-failure queue and go on, and the next batch would fail the
  // same way: the stream would drain into the queue. So that combination is refused.
  // https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html
  if (c.failOnDataLoss && c.provisionedPollers && (c.retryAttempts !== -1 || c.maxRecordAgeSeconds !== -1)) {
    const knob = c.retryAttempts !== -1 ? 'retryAttempts' : 'maxRecordAgeSeconds';
    throw new ConfigError(
      `${p}.${knob}`,
      c[knob],
      `-1 while ${p}.failOnDataLoss is true with provisioned pollers: a finite value sends the failing ` +
        'batch to the on-failure queue and the next one fails the same way, draining the stream instead of ' +
        `halting it (set ${p}.retryAttempts=-1 and ${p}.maxRecordAgeSeconds=-1, or failOnDataLoss=false)`,
    );
  }
  return c;
}

function readOption(r: Reader, key: string, spec: OptionSpec): number | string | boolean {
  switch (spec.type) {
    case 'int':
      return r.int(key, spec.default, spec.min, spec.max);
    case 'enum':
      return r.oneOf(key, spec.default, spec.values);
    case 'bool':
      return r.bool(key, spec.default);
  }
}

/**
 * Fails on the first key under the pipeline's namespaces that no reader asked for: a typo such as
 * `jobs.sent-received.batchsize`, which would otherwise be ignored without a word.
 */
function rejectUnknownKeys(
  present: readonly PresentKey[],
  known: ReadonlySet<string>,
  jobDescriptors: readonly JobDescriptor[],
): void {
  for (const p of present) {
    const [namespace, second] = p.key.split('.');
    if (!(CONFIG_NAMESPACES as readonly string[]).includes(namespace!) && !p.ours) continue;
    if (known.has(p.key)) continue;
    // A key read as a whole (filters) may arrive flattened by a nested source.
    if ([...known].some((k) => p.key.startsWith(`${k}.`))) continue;
    if (namespace === 'jobs' && second && !jobDescriptors.some((j) => j.name === second)) {
      const job = closest(
        second,
        jobDescriptors.map((j) => j.name),
      );
      throw new UnknownConfigKeyError(p, job ? p.key.replace(`jobs.${second}`, `jobs.${job}`) : undefined);
    }
    throw new UnknownConfigKeyError(p, closest(p.key, known));
  }
}
