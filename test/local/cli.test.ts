import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { BatchReport } from '../../lambda/runtime/batch';
import type { LedgerRow } from '../../lambda/runtime/queries';
import { errors } from '../../lambda/runtime/cassandra-driver';
import {
  deadLetterRows,
  jobsToRun,
  main,
  noDemoDataNote,
  printBatch,
  renderJobStatus,
  renderServices,
  reportFailures,
  reportUncommitted,
  stopLocal,
  stopWhenARunnerFails,
  unreachableService,
} from '../../local/cli';
import { CONSUMER_MEMORY_MB } from '../../config';

const REPO = join(__dirname, '..', '..');
const run = promisify(execFile);

/**
 * Every command with a bad value. Each must fail while the command line is parsed or before anything starts
 * (no service, no Kafka or Cassandra connection: none runs in the unit project), with a message that names the
 * value and says what was expected, and exit 2 (a usage error).
 */
const BAD_COMMAND_LINES: ReadonlyArray<readonly [string, readonly string[], RegExp]> = [
  ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
  ['a typo of a command', ['staus'], /unknown command 'staus'[\s\S]*Did you mean status\?/],
  [
    'local --port out of range',
    ['local', '--port', '70000'],
    /'--port <port>' argument '70000' is invalid\. expected an integer from 0 to 65535/,
  ],
  [
    'local with an unknown config key',
    ['local', '-c', 'jobs.sent-received.batchsize=500'],
    /Unknown config key 'jobs\.sent-received\.batchsize' \(given in -c\): did you mean 'jobs\.sent-received\.batchSize'\?/,
  ],
  [
    'query with a -c key outside every namespace of the config',
    ['query', '-c', 'job.sent-received.batchSize=5'],
    /Unknown config key 'job\.sent-received\.batchSize' \(given in -c\): did you mean 'jobs\.sent-received\.batchSize'\?/,
  ],
  [
    'status with a -c key the config has nowhere',
    ['status', '-c', 'nokey=1'],
    /Unknown config key 'nokey' \(given in -c\)/,
  ],
  [
    "query --key of a transform job's results",
    ['query', 'sent-received', '--key', 'x'],
    /--key applies to a window job's results only; received it with sent-received results \(sent-received is a transform job\)\./,
  ],
  [
    'query --partition of a view other than dead-letters',
    ['query', 'sensor-stats', 'batches', '--partition', '0'],
    /--partition applies to the dead-letters view only; received it with sensor-stats batches\./,
  ],
  [
    '-c before the command, as cdk takes it',
    ['-c', 'stage=qa', 'run'],
    /unknown option '-c'\n\(-c goes after the command: microbatch <command> -c key=value\)/,
  ],
  [
    'local with -c and no =',
    ['local', '-c', 'batchSize'],
    /argument 'batchSize' is invalid\. expected key=value/,
  ],
  [
    'up --mode foo',
    ['up', '--mode', 'foo'],
    /argument 'foo' is invalid\. Allowed choices are native, compose, external/,
  ],
  ['down with an unknown option', ['down', '--force'], /unknown option '--force'/],
  ['reset with an extra argument', ['reset', 'everything'], /too many arguments for 'reset'/],
  ['status with an unknown option', ['status', '--jsno'], /unknown option '--jsno'/],
  [
    'setup with an unknown config key',
    ['setup', '-c', 'kafka.partitionz=3'],
    /Unknown config key 'kafka\.partitionz'/,
  ],
  [
    'run a job that does not exist',
    ['run', 'sent-recieved'],
    /Unknown job 'sent-recieved' \(did you mean 'sent-received'\?\)/,
  ],
  [
    'run with a config value out of range',
    ['run', 'sent-received', '-c', 'jobs.sent-received.batchSize=0'],
    /jobs\.sent-received\.batchSize/,
  ],
  [
    'produce --rate 0',
    ['produce', '--rate', '0'],
    /'--rate <n>' argument '0' is invalid\. expected a number greater than 0/,
  ],
  ['produce --count 1.5', ['produce', '--count', '1.5'], /'--count <n>' argument '1\.5' is invalid/],
  ['produce --topic with a space', ['produce', '--topic', 'a b'], /expected a Kafka topic name/],
  [
    'produce --load for a job other than sent-received',
    ['produce', 'sensor-stats', '--load'],
    /--load sends tutorial send times, for sent-received only; received job 'sensor-stats'/,
  ],
  [
    'produce --keys without --load',
    ['produce', 'sent-received', '--keys', '3'],
    /--keys and --payload-bytes shape a --load/,
  ],
  [
    'produce --value with the options that shape a load',
    ['produce', '--value', 'not a time', '--load', '--rate', '5'],
    /--value sends its value as it is, with --count, --key and --topic; it takes no --load, --rate\./,
  ],
  [
    'produce --key without --value',
    ['produce', '--key', 'k'],
    /--key goes with --value; a --load takes --keys/,
  ],
  [
    'query an unknown view',
    ['query', 'sent-received', 'bogus'],
    /value 'bogus' is invalid for argument 'view'\. Allowed choices are results, batches, dead-letters, skipped/,
  ],
  [
    'query --partition -1',
    ['query', 'sent-received', 'dead-letters', '--partition', '-1'],
    /'--partition <p>' argument '-1' is invalid\. expected an integer of at least 0/,
  ],
  [
    'query --no-truncate with a view it does not apply to',
    ['query', 'sent-received', 'batches', '--no-truncate'],
    /--no-truncate applies to the dead-letters view only; received it with sent-received batches\./,
  ],
  [
    "query --no-truncate with a transform job's results, which no job's results take",
    ['query', 'sent-received', '--no-truncate'],
    /--no-truncate applies to the dead-letters view only; received it with sent-received results\.$/,
  ],
  [
    'query --limit 0',
    ['query', 'sent-received', '--limit', '0'],
    /'--limit <n>' argument '0' is invalid\. expected an integer from 1 to 1000/,
  ],
  [
    'query --from yesterday',
    ['query', 'sensor-stats', '--from', 'yesterday'],
    /'--from <time>' argument 'yesterday' is invalid\. expected an ISO-8601 time/,
  ],
  ['replay with no --from', ['replay', 'sent-received'], /required option '--from <when>' not specified/],
  [
    'replay --from latest',
    ['replay', 'sent-received', '--from', 'latest'],
    /expected 'earliest' or an ISO-8601 time/,
  ],
  ['replay with no job', ['replay', '--from', 'earliest'], /missing required argument 'job'/],
  [
    'redrive a job that does not exist',
    ['redrive', 'page-view'],
    /Unknown job 'page-view' \(did you mean 'page-views'\?\)/,
  ],
  ['ui --port out of range', ['ui', '--port', '-5'], /'--port <port>' argument '-5' is invalid/],
  ['ui --target foo', ['ui', '--target', 'foo'], /argument 'foo' is invalid\. Allowed choices are/],
  ['plan with no --rate', ['plan'], /required option '--rate <records\/s>' not specified/],
  [
    'plan --window above the Lambda maximum',
    ['plan', '--rate', '100', '--window', '301'],
    /'--window <s>' argument '301' is invalid\. expected an integer from 0 to 300/,
  ],
  [
    'new job with an invalid name',
    ['new', 'job', 'Bad_Name'],
    /Job name 'Bad_Name' is invalid: use lower-case letters/,
  ],
  ['new job named like a shipped job', ['new', 'job', 'sensor-stats'], /sensor-stats/],
  ['new with no kind', ['new', 'thing'], /unknown command 'thing'/],
];

describe('microbatch with a bad command line', () => {
  let stderr: string[];
  beforeEach(() => {
    stderr = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      stderr.push(args.map(String).join(' '));
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());

  it.each(BAD_COMMAND_LINES)('%s: says what is wrong and exits 2', async (_, argv, message) => {
    // WHEN the command line is parsed
    const code = await main([...argv]);
    // THEN nothing started, the message names the value, and the exit code says usage error
    expect(stderr.join('')).toMatch(message);
    expect(code).toBe(2);
  });

  it('produce for a job with no sample: names a send that works for it, not --load', async () => {
    // GIVEN a job of one's own without demo data, as README's "Write your own job" leaves it (page-views stands
    // in for it, its sample left out)
    vi.resetModules();
    vi.doMock('../../lambda/runtime/registry', async (importOriginal) => {
      const real = await importOriginal<typeof import('../../lambda/runtime/registry')>();
      return {
        ...real,
        loadJobs: async () =>
          (await real.loadJobs()).map((j) => (j.name === 'page-views' ? { ...j, sample: undefined } : j)),
      };
    });
    onTestFinished(() => {
      vi.doUnmock('../../lambda/runtime/registry');
      vi.resetModules();
    });
    const cli = await import('../../local/cli.js');

    // WHEN its demo data is asked for
    const code = await cli.main(['produce', 'page-views']);

    // THEN the way out it names is one `produce` takes for this job (--load is for sent-received only)
    expect(code).toBe(2);
    expect(stderr.join('')).toBe(
      "Job 'page-views' has no demo data (no sample in its definition): send records of your own with " +
        "`microbatch produce page-views --value '<record>'` (--count repeats it, --key sets its key), or give " +
        'its definition a `sample`, as `microbatch new job` writes one.',
    );
  });

  it("replay gives its runner the job's function timeout (jobs.<job>.timeoutSeconds), as Lambda has it", async () => {
    // GIVEN a replay whose runner, runtime, setup check and Kafka admin are stand-ins: only its options matter
    const runners: Array<{ functionTimeoutMs?: number }> = [];
    vi.resetModules();
    vi.doMock('../../local/runner', async (importOriginal) => ({
      ...(await importOriginal<typeof import('../../local/runner')>()),
      EventSourceRunner: class {
        readonly stats = { records: 0, batches: 0 };
        readonly stopped = Promise.resolve();
        constructor(options: { functionTimeoutMs?: number }) {
          runners.push(options);
        }
        async start() {}
        async stop() {}
      },
    }));
    vi.doMock('../../local/app', async (importOriginal) => ({
      ...(await importOriginal<typeof import('../../local/app')>()),
      openLocalRuntime: async () => ({
        client: {},
        keyspace: 'ks',
        invoker: () => async () => ({}),
        close: async () => undefined,
      }),
    }));
    vi.doMock('../../local/setup', async (importOriginal) => ({
      ...(await importOriginal<typeof import('../../local/setup')>()),
      assertSetUp: async () => undefined,
    }));
    vi.doMock('../../lambda/runtime/kafkajs', async (importOriginal) => ({
      ...(await importOriginal<typeof import('../../lambda/runtime/kafkajs')>()),
      Kafka: class {
        admin() {
          return {
            connect: async () => undefined,
            deleteGroups: async () => [],
            disconnect: async () => undefined,
          };
        }
      },
    }));
    onTestFinished(() => {
      for (const path of [
        '../../local/runner',
        '../../local/app',
        '../../local/setup',
        '../../lambda/runtime/kafkajs',
      ])
        vi.doUnmock(path);
      vi.resetModules();
    });
    // The replay's Ctrl-C handlers: gone with the test, not left on the worker.
    const signals = ['SIGINT', 'SIGTERM'] as const;
    const before = new Map(signals.map((s) => [s, process.listeners(s)]));
    onTestFinished(() => {
      for (const s of signals)
        for (const l of process.listeners(s)) if (!before.get(s)!.includes(l)) process.off(s, l);
    });
    const cli = await import('../../local/cli.js');

    // WHEN sent-received, whose timeout is set to 42 s, is replayed
    const code = await cli.main([
      'replay',
      'sent-received',
      '--from',
      'earliest',
      '-c',
      'jobs.sent-received.timeoutSeconds=42',
    ]);

    // THEN its runner gives up on an invocation after 42 s, not after the 300 s default
    expect(stderr.join('')).toBe('');
    expect(code).toBe(0);
    expect(runners.map((r) => r.functionTimeoutMs)).toEqual([42_000]);
  });

  it('prints the usage and exits 1 with no command at all', async () => {
    expect(await main([])).toBe(1);
    expect(stderr.join('')).toMatch(/Usage: microbatch \[options\] \[command\]/);
  });
});

describe('noDemoDataNote', () => {
  const topics = (...names: string[]) => names.map((name) => ({ name }));

  it('GIVEN every job with a sample THEN says nothing', () => {
    expect(noDemoDataNote([{ name: 'sent-received', sample: {}, topics: topics('test') }])).toBeUndefined();
  });

  it('GIVEN jobs without one THEN names them and their topics', () => {
    expect(
      noDemoDataNote([
        { name: 'sent-received', sample: {}, topics: topics('test') },
        { name: 'clicks', topics: topics('clicks') },
      ]),
    ).toBe(
      'no demo data for clicks (topic clicks): no sample in its definition; produce to its topic yourself',
    );
    expect(
      noDemoDataNote([
        { name: 'clicks', topics: topics('clicks') },
        { name: 'orders', topics: topics('orders', 'refunds') },
      ]),
    ).toBe(
      'no demo data for clicks (topic clicks), orders (topic orders, refunds): no sample in their definitions; ' +
        'produce to their topics yourself',
    );
  });
});

describe('reportUncommitted', () => {
  it('GIVEN a batch left failing at the stop THEN says so and exits 1; GIVEN none THEN leaves the exit code', () => {
    const stats = (uncommittedAtStop: number) => ({
      batches: 3,
      records: 30,
      failedBatches: 0,
      failedRecords: 0,
      uncommittedAtStop,
    });
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    try {
      const clean = { exitCode: 0 };
      reportUncommitted([{ jobName: 'sent-received', stats: stats(0) }], clean);
      expect(clean.exitCode).toBe(0);
      expect(errors).toEqual([]);

      const left = { exitCode: 0 };
      reportUncommitted(
        [
          { jobName: 'sent-received', stats: stats(1) },
          { jobName: 'sensor-stats', stats: stats(0) },
        ],
        left,
      );
      expect(left.exitCode).toBe(1);
      expect(errors).toEqual([
        '1 failing batch was left uncommitted at the stop (sent-received): their records come back on the next ' +
          'start, which applies them once; the log above says why they failed.',
      ]);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe('stopLocal', () => {
  it('GIVEN a producer still in its tick WHEN the stop comes THEN the runners are told at once, not after it', async () => {
    // GIVEN a producer that ends only when the test lets it (as one at a record a second ends after its tick)
    let producerDone!: () => void;
    const producing = new Promise<void>((resolve) => (producerDone = resolve));
    const abort = new AbortController();
    const stopped: string[] = [];
    const runner = (name: string) => ({ stop: async () => void stopped.push(name) });

    // WHEN the graceful stop runs
    const stopping = stopLocal(abort, producing, [runner('sent-received'), runner('page-views')]);
    await new Promise((resolve) => setImmediate(resolve));

    // THEN the producers are aborted and every runner stops fetching while the producer is still finishing
    expect(abort.signal.aborted).toBe(true);
    expect(stopped).toEqual(['sent-received', 'page-views']);
    let over = false;
    void stopping.then(() => (over = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(over).toBe(false);
    producerDone();
    await stopping;
  });
});

describe('a runner that stops on an error', () => {
  it('GIVEN one of two runners stopping on an error THEN the command stops, says which and why, and exits 1', async () => {
    // GIVEN two runners, one of which will stop by itself on a consumer crash, the other only when told
    let crash!: () => void;
    const failing = {
      jobName: 'sent-received',
      failure: undefined as Error | undefined,
      stopped: new Promise<void>((resolve) => (crash = resolve)),
    };
    const healthy = {
      jobName: 'page-views',
      failure: undefined,
      stopped: new Promise<void>(() => undefined),
    };
    const reasons: string[] = [];
    stopWhenARunnerFails([failing, healthy], { stopBecause: (reason) => void reasons.push(reason) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(reasons).toEqual([]);

    // WHEN the first stops on an error
    failing.failure = Object.assign(new Error('LZ4 compression not implemented'), {
      name: 'KafkaJSNotImplemented',
    });
    crash();
    await new Promise((resolve) => setImmediate(resolve));

    // THEN the whole command is asked to stop, naming the job and the error
    expect(reasons).toEqual(['sent-received stopped on an error (LZ4 compression not implemented)']);
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    try {
      const state = { exitCode: 0 };
      reportFailures([failing, healthy], state);
      expect(state.exitCode).toBe(1);
      expect(lines).toEqual([
        'sent-received stopped on an error: KafkaJSNotImplemented: LZ4 compression not implemented; the log above ' +
          'has the details.',
      ]);
      const clean = { exitCode: 0 };
      reportFailures([healthy], clean);
      expect(clean.exitCode).toBe(0);
      expect(lines).toHaveLength(1);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('GIVEN a runner stopped by a Ctrl-C, not an error THEN nothing more is asked', async () => {
    const reasons: string[] = [];
    stopWhenARunnerFails([{ jobName: 'sent-received', failure: undefined, stopped: Promise.resolve() }], {
      stopBecause: (reason) => void reasons.push(reason),
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(reasons).toEqual([]);
  });
});

describe('microbatch help and version', () => {
  /** What `microbatch <args>` prints on stdout, once it has exited 0. */
  async function helpOf(args: string[]): Promise<string> {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      expect(await main(args)).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    return out.join('');
  }

  it('lists every command with its description, and the defaults of its options', async () => {
    const help = await helpOf(['query', '--help']);
    expect(help).toMatch(/--limit <n>\s+rows to show \(default: 20\)/);
    expect(help.replace(/\s+/g, ' ')).toContain(
      'view what to show (choices: "results", "batches", "dead-letters", "skipped", default: "results")',
    );
  });

  it("gives plan's --memory the default the stack deploys", async () => {
    expect((await helpOf(['plan', '--help'])).replace(/\s+/g, ' ')).toContain(
      `--memory <MB> the consumers' Lambda memory (default ${CONSUMER_MEMORY_MB}, what the stack deploys)`,
    );
  });

  it('runs the same through npx as through the file, with the runner memory setting in the shebang', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const direct = await run(join(REPO, 'local', 'bin.js'), ['--version'], { cwd: REPO });
    const viaNpx = await run('npx', ['--no-install', 'microbatch', '--version'], { cwd: REPO });
    expect(direct.stdout.trim()).toBe(version);
    expect(viaNpx.stdout.trim()).toBe(version);
    // npx and the npm scripts both run the file itself, so the V8 flag cannot depend on how it was started.
    expect(readFileSync(join(REPO, 'local', 'bin.js'), 'utf8').split('\n')[0]).toBe(
      '#!/usr/bin/env -S node --max-semi-space-size=64',
    );
  }, 60_000);
});

describe('microbatch before npm ci', () => {
  it('says to run npm ci, exit 1, instead of a stack trace for a missing module', async () => {
    // GIVEN the command in a checkout with no node_modules
    const checkout = mkdtempSync(join(tmpdir(), 'microbatch-no-deps-'));
    onTestFinished(() => rmSync(checkout, { recursive: true, force: true }));
    mkdirSync(join(checkout, 'local'));
    copyFileSync(join(REPO, 'local', 'bin.js'), join(checkout, 'local', 'bin.js'));

    // WHEN it runs
    const failed = await run(process.execPath, [join(checkout, 'local', 'bin.js'), 'status'], {
      cwd: checkout,
    }).catch((error: { code: number; stderr: string }) => error);

    // THEN
    expect('code' in failed && failed.code).toBe(1);
    expect(failed.stderr.trim()).toBe(
      `microbatch: the project's dependencies are not installed. Run \`npm ci\` in ${checkout} first.`,
    );
  });
});

describe('microbatch with its services down', () => {
  // Ports nothing listens on: what a user sees before `microbatch up`.
  const down = { ...process.env, CASSANDRA_CONTACT_POINTS: '127.0.0.1:1', KAFKA_BROKERS: '127.0.0.1:1' };

  it('says which service to start and how, exit 1, instead of a stack trace', async () => {
    // WHEN a command that needs Cassandra runs
    const failed = await run(join(REPO, 'local', 'bin.js'), ['query', 'sent-received'], {
      cwd: REPO,
      env: down,
    }).catch((error: { code: number; stderr: string }) => error);

    // THEN
    expect('code' in failed && failed.code).toBe(1);
    expect(failed.stderr.trim()).toBe(
      'Cannot reach Cassandra at 127.0.0.1:1: start the services with `microbatch up` (or `npm run local:up`), ' +
        'or point CASSANDRA_CONTACT_POINTS at yours.',
    );
  }, 60_000);

  it('names Kafka when Kafka does not answer, from kafkajs errors however wrapped', () => {
    const endpoints = () =>
      ({ kafkaBrokers: ['127.0.0.1:1'], cassandraContactPoints: ['127.0.0.1:2'] }) as never;
    const connection = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), {
      name: 'KafkaJSConnectionError',
    });
    const retries = Object.assign(new Error(connection.message, { cause: connection }), {
      name: 'KafkaJSNumberOfRetriesExceeded',
    });
    expect(unreachableService(retries, endpoints)).toMatch(
      /^Cannot reach Kafka at 127\.0\.0\.1:1 \(Connection error: connect ECONNREFUSED 127\.0\.0\.1:1\): start the services with `microbatch up`.*KAFKA_BROKERS/,
    );
    expect(unreachableService(new Error('something else'), endpoints)).toBeUndefined();
  });

  it('tells a Cassandra that answered with an error from one that cannot be reached', () => {
    const endpoints = () =>
      ({ kafkaBrokers: ['127.0.0.1:1'], cassandraContactPoints: ['127.0.0.1:9042'] }) as never;
    // GIVEN what the driver throws for a keyspace replicated 3 times on a single node: the host answered
    const unavailable = new errors.ResponseError(
      0x1000,
      'Not enough replicas available for query at consistency LOCAL_QUORUM (2 required but only 1 alive)',
    );
    const refused = new errors.NoHostAvailableError({ '127.0.0.1:9042': unavailable });

    // THEN it is the server's answer, not a service to start, and no stack trace
    const message = unreachableService(refused, endpoints);
    expect(message).toBe(
      'Cassandra at 127.0.0.1:9042 is up but refused the request: 127.0.0.1:9042: Not enough replicas available ' +
        "for query at consistency LOCAL_QUORUM (2 required but only 1 alive). Fix what it names (a keyspace's " +
        'replication factor above the nodes that are up, say), then run the command again.',
    );

    // AND a host that did not answer is still one to start
    const closed = new errors.NoHostAvailableError({
      '127.0.0.1:9042': Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9042'), {
        code: 'ECONNREFUSED',
      }),
    });
    expect(unreachableService(closed, endpoints)).toMatch(
      /^Cannot reach Cassandra at 127\.0\.0\.1:9042: start/,
    );
  });
});

describe('the printed batch', () => {
  it("accounts for every record: a replay's deferred records and the offsets skipped appear when there are any", () => {
    // GIVEN a replay batch that left 4 records to the live job
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const report = {
      job: 'sent-received',
      batchId: '3f9c2a1b-0000-0000-0000-000000000000',
      startedAt: new Date('2026-11-21T05:02:15.004Z'),
      offsetRanges: [{ topic: 'test', partition: 0, fromOffset: 0n, untilOffset: 62n }],
      recordsIn: 62,
      written: 0,
      duplicates: 58,
      deadLettered: 0,
      late: 0,
      deferred: 4,
      skipped: 0n,
      filtered: 0n,
      lost: 0n,
      durationMs: 23,
      watermarkMs: null,
      partitions: [],
    } as unknown as BatchReport;

    // WHEN
    try {
      printBatch(report, 7);
      printBatch({ ...report, deferred: 0, duplicates: 62 }, 8);
    } finally {
      vi.restoreAllMocks();
    }

    // THEN
    expect(lines[0]).toContain(
      'records in 62, written 0, duplicates 58, dead-lettered 0, late 0, deferred 4, 23 ms',
    );
    expect(lines[1]).toContain('records in 62, written 0, duplicates 62, dead-lettered 0, late 0, 23 ms');
  });

  it("GIVEN a batch that finished a crashed attempt's claim THEN says whose, up to where, and with which time", () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    try {
      printBatch(
        {
          job: 'sent-received',
          batchId: 'b1280f90-0000-0000-0000-000000000000',
          startedAt: new Date('2026-11-30T17:22:12.000Z'),
          offsetRanges: [{ topic: 'test', partition: 2, fromOffset: 90n, untilOffset: 10_090n }],
          recordsIn: 10_000,
          written: 10_000,
          duplicates: 0,
          deadLettered: 0,
          late: 0,
          deferred: 0,
          skipped: 0n,
          filtered: 0n,
          lost: 0n,
          durationMs: 900,
          watermarkMs: null,
          partitions: [
            {
              partition: 2,
              resumedClaim: { id: '3a9bdacb-0000', time: new Date('2026-11-30T17:21:51.000Z'), until: 8446n },
            },
          ],
        } as unknown as BatchReport,
        9,
      );
    } finally {
      vi.restoreAllMocks();
    }
    expect(lines[0]).toContain(
      'partition 2: resumed claim 3a9bdacb of an earlier or concurrent attempt, up to offset 8446, with its processing time 2026-11-30T17:21:51.000Z',
    );
  });
});

describe('microbatch status, printed', () => {
  it('GIVEN one service healthy and one stopped THEN one row each, with the state in words', () => {
    const text = renderServices([
      {
        service: 'kafka',
        mode: 'native',
        healthy: true,
        running: true,
        pid: 42,
        endpoint: 'localhost:9092',
        detail: '1 broker(s)',
      },
      {
        service: 'cassandra',
        mode: 'native',
        healthy: false,
        running: false,
        endpoint: '127.0.0.1:9042',
        detail: 'ECONNREFUSED',
      },
    ]);
    const rows = text.split('\n').filter((l) => /kafka|cassandra/.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/kafka \| +native \| +healthy \| +42 \| localhost:9092 \| +1 broker\(s\) \|/);
    expect(rows[1]).toMatch(/cassandra \| +native \| +stopped \| +\| 127\.0\.0\.1:9042 \| ECONNREFUSED \|/);
  });

  it("GIVEN a job's batches THEN their offset ranges as Spark prints them; GIVEN an error THEN why", () => {
    const batch = {
      startedAt: new Date('2026-12-01T10:00:00.000Z'),
      recordsIn: 5,
      written: 4,
      duplicates: 0,
      deadLettered: 1,
      durationMs: 12,
      offsetRanges: [{ topic: 'test', partition: 0, fromOffset: 10, untilOffset: 15 }],
    } as LedgerRow;
    const text = renderJobStatus({ job: 'sent-received', batches: [batch] });
    expect(text.split('\n')[0]).toBe('sent-received: last 1 batch(es)');
    expect(text).toMatch(/2026-12-01T10:00:00\.000Z \| +5 \| +4 \| +0 \| +1 \| +12 \| test-0\[10,15\) \|/);
    expect(renderJobStatus({ job: 'page-views', error: 'Cassandra at 127.0.0.1:9042 is unreachable' })).toBe(
      'page-views: its batches could not be read: Cassandra at 127.0.0.1:9042 is unreachable',
    );
  });
});

describe('deadLetterRows', () => {
  const letter = {
    topic: 'test',
    partition: 1,
    offset: 41n,
    reason: 'schema',
    detail: 'x'.repeat(100),
    recordTimestamp: new Date('2026-11-30T22:39:00.000Z'),
  };

  it('GIVEN a detail longer than 80 characters THEN cut to 80 with a mark, unless --no-truncate', () => {
    expect(deadLetterRows([letter], true)).toEqual([
      {
        record_time: '2026-11-30T22:39:00.000Z',
        topic: 'test',
        partition: 1,
        offset: '41',
        reason: 'schema',
        detail: `${'x'.repeat(79)}…`,
      },
    ]);
    expect(deadLetterRows([letter], false)[0]!.detail).toBe('x'.repeat(100));
  });
});

describe('run', () => {
  it('GIVEN no job names THEN runs every job, as its help says (commander passes [] for none)', () => {
    expect(jobsToRun([], ['a', 'b'])).toEqual(['a', 'b']);
    expect(jobsToRun(undefined, ['a', 'b'])).toEqual(['a', 'b']);
    expect(jobsToRun(['b'], ['a', 'b'])).toEqual(['b']);
  });
});
