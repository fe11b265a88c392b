import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  CONSUMER_MEMORY_MB,
  CONSUMER_TIMEOUT_SECONDS,
  contextKeys,
  loadConfig,
  MSK_KAFKA_VERSIONS,
  objectGetter,
  ON_DEMAND_BEHAVIOUR,
  UnknownConfigKeyError,
} from '../../config';
import { SHIPPED_JOBS } from '../support/jobs';

const load = (context: Record<string, unknown> = {}) => loadConfig(objectGetter(context), SHIPPED_JOBS);

describe('config: event source pollers', () => {
  it('defaults to on-demand pollers, with the error-handling knobs at what Lambda does there', () => {
    // WHEN
    const job = load().jobs['sent-received'];

    // THEN
    expect(job.provisionedPollers).toBeUndefined();
    expect({
      retryAttempts: job.retryAttempts,
      maxRecordAgeSeconds: job.maxRecordAgeSeconds,
      bisectBatchOnError: job.bisectBatchOnError,
      reportBatchItemFailures: job.reportBatchItemFailures,
    }).toEqual(ON_DEMAND_BEHAVIOUR);
  });

  it('turns provisioned pollers on with a minimum, and then takes the knobs with their defaults', () => {
    // WHEN
    const job = load({ 'jobs.sensor-stats.provisionedPollers.minimumPollers': '1' }).jobs['sensor-stats'];

    // THEN
    expect(job.provisionedPollers).toEqual({ minimumPollers: 1, maximumPollers: 2 });
    expect(job.retryAttempts).toBe(3);
  });

  it('reads nested cdk.json context for provisioned pollers and the knobs', () => {
    // WHEN
    const job = load({
      jobs: {
        'sent-received': {
          provisionedPollers: { minimumPollers: 2, maximumPollers: 4 },
          retryAttempts: 5,
          maxRecordAgeSeconds: 3600,
          bisectBatchOnError: true,
          reportBatchItemFailures: false,
        },
      },
    }).jobs['sent-received'];

    // THEN
    expect(job).toMatchObject({
      provisionedPollers: { minimumPollers: 2, maximumPollers: 4 },
      retryAttempts: 5,
      maxRecordAgeSeconds: 3600,
      bisectBatchOnError: true,
      reportBatchItemFailures: false,
    });
  });

  it('refuses reportBatchItemFailures=true even with provisioned pollers, saying why it would do nothing', () => {
    // GIVEN provisioned pollers, where Lambda would accept the knob
    const context = {
      'jobs.sent-received.provisionedPollers.minimumPollers': '1',
      'jobs.sent-received.reportBatchItemFailures': 'true',
    };

    // THEN
    expect(() => load(context)).toThrow(ConfigError);
    expect(() => load(context)).toThrow(
      /Invalid config 'jobs.sent-received.reportBatchItemFailures': received true; expected false \(or no value\): the handlers never report item failures.*dead letters/,
    );
  });

  it.each([
    ['jobs.sent-received.retryAttempts', '2'],
    ['jobs.sent-received.maxRecordAgeSeconds', '600'],
    ['jobs.sent-received.bisectBatchOnError', 'true'],
    ['jobs.sent-received.reportBatchItemFailures', 'true'],
  ])('fails when %s is set without provisioned pollers, naming the key and the fix', (key, value) => {
    expect(() => load({ [key]: value })).toThrow(ConfigError);
    expect(() => load({ [key]: value })).toThrow(
      new RegExp(
        `Invalid config '${key}': received "${value}"; expected no value .*provisioned mode .*\\. ` +
          `Remove ${key.replace(/\./g, '\\.')}, or give the event source provisioned pollers ` +
          `\\(-c jobs\\.sent-received\\.provisionedPollers\\.minimumPollers=1\\) to use it\\.$`,
      ),
    );
    // Not the generic fix, which says to set the key the user just set.
    expect(() => load({ [key]: value })).not.toThrow(/Set it in cdk.json context or with -c/);
  });

  it('accepts the on-demand value itself, so a job config round-trips through JSON', () => {
    // GIVEN the JSON the stack passes to a handler (MICROBATCH_JOB_CONFIG)
    const json = JSON.stringify(load().jobs['sent-received']);

    // WHEN the handler loads it back
    const again = load({ jobs: { 'sent-received': JSON.parse(json) } }).jobs['sent-received'];

    // THEN
    expect(again).toEqual(load().jobs['sent-received']);
  });

  it('round-trips a provisioned job config through JSON', () => {
    const provisioned = {
      'jobs.sensor-stats.provisionedPollers.minimumPollers': 1,
      'jobs.sensor-stats.retryAttempts': 7,
    };
    const job = load(provisioned).jobs['sensor-stats'];
    const again = load({ jobs: { 'sensor-stats': JSON.parse(JSON.stringify(job)) } }).jobs['sensor-stats'];
    expect(again).toEqual(job);
  });

  it('fails when maximumPollers is below minimumPollers', () => {
    expect(() =>
      load({
        'jobs.sent-received.provisionedPollers.minimumPollers': 5,
        'jobs.sent-received.provisionedPollers.maximumPollers': 2,
      }),
    ).toThrow(/maximumPollers': received 2; expected at least .*minimumPollers \(5\)/);
  });

  it('fails on a minimumPollers out of the ESM range', () => {
    expect(() => load({ 'jobs.sent-received.provisionedPollers.minimumPollers': 0 })).toThrow(
      /minimumPollers': received 0; expected an integer from 1 to 200/,
    );
  });
});

describe("config: the consumer function's memory", () => {
  it('GIVEN no memorySize THEN every job gets CONSUMER_MEMORY_MB', () => {
    const config = load();
    for (const job of Object.values(config.jobs)) expect(job.memorySize).toBe(CONSUMER_MEMORY_MB);
  });

  it('GIVEN memorySize for one job, flat or nested THEN only that job takes it', () => {
    expect(load({ 'jobs.sensor-stats.memorySize': '2048' }).jobs['sensor-stats']!.memorySize).toBe(2048);
    const nested = load({ jobs: { 'sent-received': { memorySize: 1769 } } });
    expect(nested.jobs['sent-received']!.memorySize).toBe(1769);
    expect(nested.jobs['sensor-stats']!.memorySize).toBe(CONSUMER_MEMORY_MB);
  });

  it("GIVEN a memorySize out of Lambda's range THEN fails naming the key, the value and the range", () => {
    expect(() => load({ 'jobs.sent-received.memorySize': '64' })).toThrow(
      /jobs\.sent-received\.memorySize': received "64"; expected an integer from 128 to 10240/,
    );
  });
});

describe("config: the consumer function's timeout", () => {
  it('GIVEN no timeoutSeconds THEN every job gets CONSUMER_TIMEOUT_SECONDS, and one job may set its own', () => {
    for (const job of Object.values(load().jobs)) expect(job.timeoutSeconds).toBe(CONSUMER_TIMEOUT_SECONDS);
    const config = load({ 'jobs.sensor-stats.timeoutSeconds': '60' });
    expect(config.jobs['sensor-stats']!.timeoutSeconds).toBe(60);
    expect(config.jobs['sent-received']!.timeoutSeconds).toBe(CONSUMER_TIMEOUT_SECONDS);
  });

  it('GIVEN a timeoutSeconds above the 14 minutes of Kafka event sources THEN fails naming the key, the value and the range', () => {
    expect(() => load({ 'jobs.sent-received.timeoutSeconds': '900' })).toThrow(
      /jobs\.sent-received\.timeoutSeconds': received "900"; expected an integer from 1 to 840/,
    );
  });
});

describe('config: added keys', () => {
  it('defaults broker storage to 10 GiB and keeps the keyspace on delete', () => {
    const config = load();
    expect(config.kafka.brokerStorageGiB).toBe(10);
    expect(config.keyspace.removalPolicy).toBe('retain');
  });

  it('names the keyspace test_time for the dev stage, and after its stage for any other, so stages never collide', () => {
    expect(load().keyspace.name).toBe('test_time');
    expect(load({ stage: 'prod' }).keyspace.name).toBe('prod_test_time');
    // Dashes are not allowed in a keyspace's name.
    expect(load({ stage: 'eu-canary' }).keyspace.name).toBe('eu_canary_test_time');
    expect(load({ stage: 'prod', 'keyspace.name': 'analytics' }).keyspace.name).toBe('analytics');
    expect(() => load({ 'keyspace.name': 'table' })).toThrow(
      `Invalid config 'keyspace.name': received "table"; expected a name that is not a CQL reserved word.`,
    );
  });

  it('fails on an unknown keyspace removal policy, listing the allowed values', () => {
    expect(() => load({ 'keyspace.removalPolicy': 'snapshot' })).toThrow(
      /keyspace.removalPolicy': received "snapshot"; expected one of retain, destroy/,
    );
  });

  it.each([
    ['kafka.version', '3.9.x'],
    ['kafka.brokerInstanceType', 'kafka.m7g.large'],
    ['kafka.brokerCount', '6'],
    ['kafka.brokerStorageGiB', '500'],
  ])('refuses %s in serverless mode instead of dropping it', (key, value) => {
    expect(() => load({ 'kafka.mode': 'serverless', [key]: value })).toThrow(
      new RegExp(
        `Invalid config '${key}': received "${value}"; expected no value while kafka.mode is serverless .*remove the key, or set kafka.mode=provisioned`,
      ),
    );
    expect(load({ 'kafka.mode': 'provisioned', [key]: value }).kafka.mode).toBe('provisioned');
  });

  it('fails on a replication factor other than 3 in serverless mode', () => {
    expect(() => load({ 'kafka.mode': 'serverless', 'topics.test.replicationFactor': 2 })).toThrow(
      /topics.test.replicationFactor': received 2; expected 3 when kafka.mode is serverless/,
    );
  });
});

describe('config: an AT_TIMESTAMP starting position', () => {
  const at = (timestamp: unknown) =>
    load({
      'jobs.sent-received.startingPosition': 'AT_TIMESTAMP',
      'jobs.sent-received.startingPositionTimestamp': timestamp,
    }).jobs['sent-received']!;

  it('takes a past time in epoch seconds', () => {
    expect(at('1767225600').startingPositionTimestamp).toBe(1767225600);
  });

  it('refuses a time in the future, which CreateEventSourceMapping refuses, naming now and the fix', () => {
    // GIVEN a timestamp an hour ahead
    const future = Math.floor(Date.now() / 1000) + 3600;

    // WHEN / THEN
    expect(() => at(String(future))).toThrow(
      new RegExp(
        `Invalid config 'jobs.sent-received.startingPositionTimestamp': received "${future}"; expected epoch ` +
          'seconds no later than now \\(\\d+\\): Lambda refuses a starting position in the future.*startingPosition=LATEST',
      ),
    );
  });

  it("refuses 0, which CDK's event source mapping takes for no timestamp and fails synth on", () => {
    expect(() => at('0')).toThrow(
      /Invalid config 'jobs.sent-received.startingPositionTimestamp': received "0"; expected an integer from 1 to/,
    );
  });
});

describe("config: kafka.brokerCount, within MSK's brokers per cluster", () => {
  it('takes up to 60 brokers on a KRaft cluster, the quota of KRaft clusters', () => {
    // GIVEN a KRaft version WHEN 60 brokers are asked for THEN the config has them
    expect(load({ 'kafka.version': '3.9.x.kraft', 'kafka.brokerCount': '60' }).kafka.brokerCount).toBe(60);
    expect(load({ 'kafka.version': '4.1.x.kraft', 'kafka.brokerCount': '32' }).kafka.brokerCount).toBe(32);
  });

  it('refuses more than 30 on a ZooKeeper cluster, naming its quota and the fix', () => {
    expect(load({ 'kafka.brokerCount': '30' }).kafka.brokerCount).toBe(30);
    expect(() => load({ 'kafka.version': '3.9.x', 'kafka.brokerCount': '32' })).toThrow(
      /Invalid config 'kafka.brokerCount': received 32; expected at most 30 with kafka.version=3.9.x \(ZooKeeper\): MSK's quota of brokers per cluster is 30 with ZooKeeper and 60 with KRaft/,
    );
  });

  it('refuses more than 60 and an odd count whatever the version', () => {
    expect(() => load({ 'kafka.version': '3.9.x.kraft', 'kafka.brokerCount': '62' })).toThrow(
      /'kafka.brokerCount': received "62"; expected an integer from 2 to 60/,
    );
    expect(() => load({ 'kafka.brokerCount': '3' })).toThrow(/received 3; expected a multiple of 2/);
  });
});

describe('config: kafka.version, as MSK names its versions', () => {
  it('accepts every version MSK supports on kafka.* brokers, Kafka 4 in KRaft mode', () => {
    for (const version of MSK_KAFKA_VERSIONS)
      expect(load({ 'kafka.version': version }).kafka.version).toBe(version);
    expect(MSK_KAFKA_VERSIONS).toEqual(
      expect.arrayContaining(['3.9.x', '3.9.x.kraft', '4.0.x.kraft', '4.1.x.kraft']),
    );
    expect(load().kafka.version).toBe('3.9.x');
  });

  it('refuses Kafka 4 in ZooKeeper mode, naming the KRaft version to use instead', () => {
    expect(() => load({ 'kafka.version': '4.1.x' })).toThrow(
      /Invalid config 'kafka.version': received "4.1.x"; expected '4.1.x.kraft': MSK runs Kafka 4 in KRaft mode only/,
    );
    expect(() => load({ 'kafka.version': '4.0.x' })).toThrow(/expected '4.0.x.kraft'/);
  });

  it('refuses a version only Express brokers run, and one MSK no longer supports, listing the allowed ones', () => {
    expect(() => load({ 'kafka.version': '4.2.x.kraft' })).toThrow(
      /received "4.2.x.kraft"; expected one of 3.7.x, .*4.1.x.kraft; MSK offers 4.2.x.kraft on Express brokers only/,
    );
    expect(() => load({ 'kafka.version': '3.6.0' })).toThrow(
      /received "3.6.0"; expected one of 3.7.x, 3.7.x.kraft, 3.8.x, 3.8.x.kraft, 3.9.x, 3.9.x.kraft, 4.0.x.kraft, 4.1.x.kraft \(the MSK names/,
    );
    expect(() => load({ 'kafka.version': '3.9.2' })).toThrow(ConfigError);
  });
});

describe('config: unknown keys under the pipeline namespaces (issue 10, item 3)', () => {
  const withKeys = (context: Record<string, unknown>, place = '-c') =>
    loadConfig(objectGetter(context), SHIPPED_JOBS, contextKeys(context, place));

  it('rejects a typo of a job key with its place and the closest key, instead of ignoring it', () => {
    expect(() => withKeys({ 'jobs.sent-received.batchsize': '500' })).toThrow(
      new UnknownConfigKeyError(
        { key: 'jobs.sent-received.batchsize', place: '-c' },
        'jobs.sent-received.batchSize',
      ),
    );
    expect(() => withKeys({ 'jobs.sent-received.batchsize': '500' })).toThrow(
      "Unknown config key 'jobs.sent-received.batchsize' (given in -c): did you mean 'jobs.sent-received.batchSize'?",
    );
  });

  it('suggests the job that exists for a key of a misspelt job, keeping the rest of the key', () => {
    expect(() => withKeys({ jobs: { 'sensor-stat': { windowSeconds: 30 } } }, 'cdk.json context')).toThrow(
      "Unknown config key 'jobs.sensor-stat.windowSeconds' (given in cdk.json context): did you mean 'jobs.sensor-stats.windowSeconds'?",
    );
  });

  it("rejects a job option that belongs to another job (windowSeconds is not sent-received's)", () => {
    expect(() => withKeys({ 'jobs.sent-received.windowSeconds': '30' })).toThrow(UnknownConfigKeyError);
  });

  it('says where the settings are listed when nothing is close', () => {
    expect(() => withKeys({ 'kafka.zzzzzzzzzzzzzz': '1' })).toThrow(
      "Unknown config key 'kafka.zzzzzzzzzzzzzz' (given in -c): the pipeline has no such setting; docs/cloud.md lists every key.",
    );
  });

  it('leaves keys outside its namespaces alone (CDK feature flags, lookups), and takes every known key', () => {
    const config = withKeys({
      '@aws-cdk/core:newStyleStackSynthesis': true,
      'availability-zones:account=000000000000:region=us-east-1': ['us-east-1a'],
      'jobs.sent-received.batchSize': '500',
      'jobs.page-views.windowSeconds': '120',
      'topics.page-views.replicationFactor': '2',
      'jobs.sensor-stats.filters': JSON.stringify([{ value: { sensorId: ['s1'] } }]),
    });
    expect(config.jobs['sent-received']!.batchSize).toBe(500);
    expect(config.jobs['page-views']!.options['windowSeconds']).toBe(120);
    expect(config.jobs['sensor-stats']!.filters).toHaveLength(1);
  });
});

describe('config: consumer groups, each read by one reader', () => {
  it('gives every job its own groups by default', () => {
    const config = load();
    const ids = Object.values(config.jobs).map((j) => j.consumerGroupId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("refuses a job's group that is another job's, naming both readers", () => {
    expect(() => load({ 'jobs.sensor-stats.consumerGroupId': 'dev-page-views' })).toThrow(
      /Invalid config 'jobs.(sensor-stats|page-views).consumerGroupId': received "dev-page-views"; expected an id whose groups no other reader uses: 'dev-page-views' would be the group of job .*'s event source mapping on topic .* and of job .*'s event source mapping/,
    );
  });

  it("refuses a job's group that is another job's redrive group", () => {
    expect(() => load({ 'jobs.sensor-stats.consumerGroupId': 'dev-page-views-redrive' })).toThrow(
      /'dev-page-views-redrive' would be the group of .*redrive/,
    );
  });

  it('refuses an id whose redrive group would be longer than 200 characters, with the length that fits', () => {
    expect(() => load({ 'jobs.sensor-stats.consumerGroupId': 'g'.repeat(195) })).toThrow(
      /jobs.sensor-stats.consumerGroupId': received "g{195}"; expected at most 192 characters/,
    );
  });
});

describe('config: filters per event source mapping', () => {
  const patterns = (n: number) =>
    JSON.stringify(Array.from({ length: n }, (_, i) => ({ value: { sensorId: [`s-${i}`] } })));

  it("GIVEN 5 patterns THEN takes them: Lambda's default quota", () => {
    expect(load({ 'jobs.sensor-stats.filters': patterns(5) }).jobs['sensor-stats']!.filters).toHaveLength(5);
  });

  it('GIVEN 6 patterns THEN fails naming the quota and both fixes', () => {
    expect(() => load({ 'jobs.sensor-stats.filters': patterns(6) })).toThrow(
      /jobs.sensor-stats.filters': .*expected at most 5 filter patterns, the account's quota .*Merge patterns .*quotas.filtersPerEventSourceMapping/,
    );
  });

  it('GIVEN a raised quota THEN takes up to it, and never more than 10', () => {
    const raised = { 'quotas.filtersPerEventSourceMapping': '8' };
    expect(
      load({ ...raised, 'jobs.sensor-stats.filters': patterns(8) }).jobs['sensor-stats']!.filters,
    ).toHaveLength(8);
    expect(() => load({ ...raised, 'jobs.sensor-stats.filters': patterns(9) })).toThrow(
      /at most 8 filter patterns/,
    );
    expect(() => load({ 'quotas.filtersPerEventSourceMapping': '11' })).toThrow(
      /quotas.filtersPerEventSourceMapping': received "11"; expected an integer from 5 to 10/,
    );
  });
});
