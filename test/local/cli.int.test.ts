/**
 * The CLI as a user runs it, in its own process: `microbatch local` brings everything up, prints batches with
 * their offset ranges, serves the streaming UI, and exits 0 on Ctrl-C after a graceful stop; `replay` and `run`
 * together lose nothing; a stop during start-up exits 0.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  closeCassandra,
  endpoints,
  freshKeyspace,
  freshTopic,
  kafka,
  microbatch,
  sendValues,
  uniqueName,
  waitFor,
} from '../support/integration';
import { ensureTopics } from '../../local/setup';
import type { KafkaMessage } from '../../lambda/runtime/kafkajs';

afterAll(closeCassandra);

/** The records of `topic`, read from its start by a group of its own once `count` have arrived. */
async function readRecords(topic: string, count: number): Promise<KafkaMessage[]> {
  const consumer = kafka().consumer({ groupId: uniqueName('it-read-') });
  await consumer.connect();
  onTestFinished(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: KafkaMessage[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  await waitFor(
    `${count} records of ${topic}`,
    async () => (messages.length >= count ? true : undefined),
    30_000,
  );
  return messages;
}

/**
 * `-c` options that give every shipped job a consumer group of its own. The jobs read the shipped topics, which a
 * developer's own `npm run local` reads too: with the default groups, a test's commits moved that developer's
 * groups past records their keyspace never saw, and their next run kept those offsets as skipped ranges.
 */
function ownConsumerGroups(): string[] {
  return ['page-views', 'sensor-stats', 'sent-received'].flatMap((job) => [
    '-c',
    `jobs.${job}.consumerGroupId=${uniqueName(`it-${job}-`)}`,
  ]);
}

describe('microbatch local', () => {
  it('shows batches landing, serves them in the UI, and stops gracefully with exit code 0', async () => {
    const { keyspace } = await freshKeyspace();
    const port = 4000 + Math.floor(Math.random() * 900);
    const local = microbatch([
      'local',
      ...ownConsumerGroups(),
      '--port',
      String(port),
      '-c',
      'jobs.sent-received.maxBatchingWindowSeconds=1',
      '-c',
      'jobs.sensor-stats.maxBatchingWindowSeconds=1',
      '-c',
      'jobs.page-views.maxBatchingWindowSeconds=1',
      '-c',
      `keyspace.name=${keyspace}`,
    ]);

    await waitFor(
      'a batch of topic test',
      async () =>
        /Batch \d+: sent-received[\s\S]*OffsetRange\(topic: 'test', partition: \d+, range: \[\d+ -> \d+\]\)/.test(
          local.out(),
        )
          ? true
          : undefined,
      90_000,
    );
    // Every job of the registry runs, with its sample producer: the third job too.
    await waitFor(
      'a batch of page-views',
      async () =>
        /Batch \d+: page-views[\s\S]*OffsetRange\(topic: 'page-views'/.test(local.out()) ? true : undefined,
      90_000,
    );
    const page = await waitFor('the UI', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/jobs/sent-received/batches?limit=5`);
      return res.ok ? ((await res.json()) as { batches: Array<{ recordsIn: number }> }) : undefined;
    });
    expect(page.batches.length).toBeGreaterThan(0);
    expect(page.batches[0]!.recordsIn).toBeGreaterThan(0);

    local.child.kill('SIGINT');
    expect(await local.exited).toBe(0);
    expect(local.err()).toContain('stopping gracefully');
  });
});

describe('microbatch ui', () => {
  it('stops on Ctrl-C with exit code 0, without claiming a batch in flight: it runs none', async () => {
    // GIVEN the UI alone, on a port of its own
    const { keyspace } = await freshKeyspace();
    const port = 4000 + Math.floor(Math.random() * 900);
    const ui = microbatch(['ui', '--port', String(port), '-c', `keyspace.name=${keyspace}`]);
    await waitFor('the UI', async () => (/streaming UI: http/.test(ui.err()) ? true : undefined), 60_000);

    // WHEN Ctrl-C
    ui.child.kill('SIGINT');

    // THEN
    expect(await ui.exited).toBe(0);
    expect(ui.err()).toContain('SIGINT: stopping gracefully (closing the server');
    expect(ui.err()).not.toContain('batch in flight');
  }, 90_000);
});

describe('microbatch produce --load', () => {
  it("sends --count records of strictly increasing send times, not the job's demo values", async () => {
    // GIVEN a topic of its own
    const topic = await freshTopic(1);

    // WHEN the load the README shows runs (smaller)
    const run = microbatch([
      'produce',
      'sent-received',
      '--load',
      '--rate',
      '5000',
      '--count',
      '300',
      '--topic',
      topic,
    ]);
    expect(await run.exited).toBe(0);
    // Its summary gives the time once (the progress line's), not twice
    expect(run.err()).toMatch(/^produce: producing to \S+ sent 300 records at \d+\/s \(\d+\.\ds\)$/m);

    // THEN 300 distinct send times with microseconds, in order: 300 rows for the job, not one a second
    const values = (await readRecords(topic, 300)).map((m) => m.value!.toString());
    expect(values).toHaveLength(300);
    expect(new Set(values).size).toBe(300);
    for (const v of values) expect(v).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect([...values].sort()).toEqual(values);
  });
});

describe('microbatch produce --value', () => {
  it('sends the value as it is, --count times with --key: a malformed record of one’s own', async () => {
    // GIVEN a topic of its own
    const topic = await freshTopic(1);

    // WHEN a value that is not a send time is sent three times, as README shows
    const run = microbatch([
      'produce',
      '--value',
      'not a time',
      '--count',
      '3',
      '--key',
      'k1',
      '--topic',
      topic,
    ]);
    expect(await run.exited).toBe(0);
    expect(run.out()).toContain(`sent 3 record(s) of "not a time" to ${topic}`);

    // THEN the topic holds exactly those records, unpadded and keyed
    const records = (await readRecords(topic, 3)).map((m) => ({
      key: m.key?.toString(),
      value: m.value?.toString(),
    }));
    expect(records).toEqual(Array.from({ length: 3 }, () => ({ key: 'k1', value: 'not a time' })));
  });
});

describe('microbatch produce to a topic that does not exist', () => {
  it.each([
    ['a load', ['produce', '--load', '--count', '5']],
    ['a value', ['produce', '--value', 'x']],
  ])(
    'refuses %s at once, saying how to create it, exit 1, without kafkajs’s retries',
    async (_case, args) => {
      // GIVEN a topic name nobody created
      const topic = uniqueName('it-missing-');

      // WHEN
      const run = microbatch([...args, '--topic', topic]);

      // THEN
      expect(await run.exited).toBe(1);
      expect(run.err().trim()).toBe(
        `Topic '${topic}' does not exist on ${endpoints.kafkaBrokers.join(', ')}: \`microbatch setup\` creates the ` +
          "jobs' topics; create any other topic before producing to it (Kafka's kafka-topics.sh --create).",
      );
    },
  );
});

describe('a job the services were never set up for', () => {
  it.each([
    ['query', ['query', 'sent-received']],
    ['replay', ['replay', 'sent-received', '--from', 'earliest']],
    ['redrive', ['redrive', 'sent-received']],
  ])('%s refuses at once, naming what is missing and `setup`, exit 1', async (_command, args) => {
    // GIVEN a keyspace nobody created
    const keyspace = uniqueName('it_never_');

    // WHEN
    const started = Date.now();
    const run = microbatch([...args, '-c', `keyspace.name=${keyspace}`]);

    // THEN
    expect(await run.exited).toBe(1);
    expect(run.err().trim()).toMatch(
      new RegExp(
        `^sent-received is not set up: table ${keyspace}\\.sent_received, table ${keyspace}\\.offset_checkpoints, .*` +
          'do not exist\\. Run `microbatch setup` \\(with the same -c options\\)',
      ),
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('a job whose table an older schema created', () => {
  it('query refuses at once, naming the columns the table lacks and `setup`, exit 1, without a stack trace', async () => {
    // GIVEN a keyspace set up by a version of sent_received without time_received (as a job edited since its
    // last `setup` leaves its table)
    const { client, keyspace } = await freshKeyspace();
    await client.execute(`ALTER TABLE ${keyspace}.sent_received DROP time_received`, [], { prepare: false });

    // WHEN
    const run = microbatch(['query', 'sent-received', '-c', `keyspace.name=${keyspace}`]);

    // THEN what is out of date and the command that brings it up to date, not the driver's "Undefined column"
    expect(await run.exited).toBe(1);
    expect(run.err().trim()).toMatch(
      new RegExp(
        `^sent-received is not set up: table ${keyspace}\\.sent_received lacks the column time_received of ` +
          'this version\\. Run `microbatch setup` \\(with the same -c options\\)',
      ),
    );
    expect(run.err()).not.toMatch(/^\s+at /m);
  }, 60_000);
});

describe('microbatch query, a window key without windows', () => {
  it('names the job, the key and the range it searched, defaults included, and how to widen it, not "(no rows)"', async () => {
    // GIVEN a set-up keyspace without a window of key nosuch
    const { keyspace } = await freshKeyspace();
    const config = ['-c', `keyspace.name=${keyspace}`];

    // WHEN asked for it with both ends given, and with --from alone (--to defaults to now)
    const given = microbatch([
      'query',
      'sensor-stats',
      '--key',
      'nosuch',
      '--from',
      '2026-05-21T01:00:00Z',
      '--to',
      '2026-05-21T02:00:00Z',
      ...config,
    ]);
    const before = Date.now();
    const defaulted = microbatch(['query', 'sensor-stats', '--key', 'nosuch', ...config]);

    // THEN
    expect(await given.exited).toBe(0);
    expect(given.out().trim()).toBe(
      "sensor-stats: no windows of sensor_id 'nosuch' starting from 2026-05-21T01:00:00.000Z to " +
        '2026-05-21T02:00:00.000Z. Widen the range with --from and --to (default: the hour before now), or ' +
        'leave out --key to list the keys there are.',
    );
    expect(await defaulted.exited).toBe(0);
    const [, fromText, toText] =
      /^sensor-stats: no windows of sensor_id 'nosuch' starting from (\S+) to (\S+)\. Widen the range/.exec(
        defaulted.out(),
      ) ?? [];
    expect(Date.parse(toText!) - Date.parse(fromText!)).toBe(3_600_000);
    expect(Date.parse(toText!)).toBeGreaterThanOrEqual(before - 1000);
  }, 60_000);
});

describe('microbatch status', () => {
  it('says why it cannot read a job\'s batches, exit 1, instead of "last 0 batch(es)"', async () => {
    // GIVEN a keyspace whose replication asks for more nodes than the one that runs: every read at LOCAL_QUORUM
    // is refused as Unavailable
    const { client, keyspace } = await freshKeyspace();
    await client.execute(
      `ALTER KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}`,
      [],
      { prepare: false },
    );

    // WHEN
    const run = microbatch(['status', '-c', `keyspace.name=${keyspace}`]);

    // THEN each job names the server's answer, not an empty ledger
    expect(await run.exited).toBe(1);
    expect(run.out()).not.toContain('last 0 batch(es)');
    expect(run.out()).toMatch(
      /sent-received: its batches could not be read: Cassandra at .* is up but refused the request: .*Not enough replicas available/,
    );
    expect(run.out()).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('--json: one JSON object of the services and each job, with why a job could not be read, exit 1', async () => {
    // GIVEN a keyspace whose reads are all refused (Unavailable), as in the test above
    const { client, keyspace } = await freshKeyspace();
    await client.execute(
      `ALTER KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}`,
      [],
      { prepare: false },
    );

    // WHEN
    const run = microbatch(['status', '--json', '-c', `keyspace.name=${keyspace}`]);

    // THEN stdout is one JSON document a script can read: both services healthy, every job with its error
    expect(await run.exited).toBe(1);
    const report = JSON.parse(run.out()) as {
      services: Array<{ service: string; healthy: boolean }>;
      jobs: Array<{ job: string; error?: string; batches?: unknown[] }>;
    };
    expect(report.services.map((s) => [s.service, s.healthy])).toEqual([
      ['kafka', true],
      ['cassandra', true],
    ]);
    expect(report.jobs.map((j) => j.job)).toEqual(['page-views', 'sensor-stats', 'sent-received']);
    for (const job of report.jobs) expect(job.error).toMatch(/Not enough replicas available/);
  }, 60_000);

  it('--json: a table whose layout differs from its definition is in the one JSON object, exit 1', async () => {
    // GIVEN a keyspace whose sent_received was created with another partition key
    const { client, keyspace } = await freshKeyspace();
    await client.execute(`DROP TABLE ${keyspace}.sent_received`, [], { prepare: false });
    await client.execute(
      `CREATE TABLE ${keyspace}.sent_received (time_sent text, time_received text, PRIMARY KEY (time_received, time_sent))`,
      [],
      { prepare: false },
    );

    // WHEN
    const run = microbatch(['status', '--json', '-c', `keyspace.name=${keyspace}`]);

    // THEN stdout is still one JSON document, which names the drift; no job's batches were read
    expect(await run.exited).toBe(1);
    const report = JSON.parse(run.out()) as { schemaDrift?: string; jobs: unknown[] };
    expect(report.schemaDrift).toMatch(
      new RegExp(
        `${keyspace}\\.sent_received was created by an older schema: its partition key is \\(time_received\\)`,
      ),
    );
    expect(report.jobs).toEqual([]);
  }, 60_000);

  it('stops quietly, exit 0, when its reader closes the pipe (`status | head -3`), without a stack trace', async () => {
    const { keyspace } = await freshKeyspace();
    const run = microbatch(['status', '-c', `keyspace.name=${keyspace}`]);
    // The reader is gone before the first line: every write meets a closed pipe (EPIPE).
    run.child.stdout.destroy();
    expect(await run.exited).toBe(0);
    expect(run.err()).toBe('');
  }, 60_000);

  it('says a keyspace that was never set up is not, and how to set it up', async () => {
    const keyspace = uniqueName('it_never_');
    const run = microbatch(['status', '-c', `keyspace.name=${keyspace}`]);
    expect(await run.exited).toBe(0);
    expect(run.out()).not.toContain('last 0 batch(es)');
    expect(run.out()).toMatch(/are not set up: table .* do not exist\. Run `microbatch setup`/);
  }, 60_000);
});

describe('microbatch produce --value, large', () => {
  it('splits the sends under the broker’s 1 MB: twelve values of 100 KB all arrive', async () => {
    // GIVEN a topic of its own and a value of 100,000 bytes, twelve times: 1.2 MB, over one request's limit
    const topic = await freshTopic(1);
    const value = 'x'.repeat(100_000);

    // WHEN
    const run = microbatch(['produce', '--value', value, '--count', '12', '--topic', topic]);

    // THEN every value arrived, whole
    expect(await run.exited).toBe(0);
    const sizes = (await readRecords(topic, 12)).map((m) => m.value?.length ?? 0);
    expect(sizes).toEqual(Array.from({ length: 12 }, () => 100_000));
  });
});

describe('Ctrl-C through npm, as a terminal sends it', () => {
  it('exits 0: the SIGINT reaches npm, the shell and the CLI together, and only the CLI decides the code', async () => {
    // GIVEN an endless producer started the way the README shows (`npm run cli -- ...`), in a process group of
    // its own, as a terminal's foreground job
    const topic = await freshTopic(1);
    const npm = spawn(
      'npm',
      ['run', '-s', 'cli', '--', 'produce', 'sent-received', '--topic', topic, '--rate', '20'],
      {
        cwd: join(__dirname, '..', '..'),
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    onTestFinished(() => {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    const admin = kafka().admin();
    await admin.connect();
    onTestFinished(() => admin.disconnect());
    await waitFor(
      'records in the topic',
      async () => ((await admin.fetchTopicOffsets(topic))[0]!.high !== '0' ? true : undefined),
      60_000,
    );

    // WHEN Ctrl-C: SIGINT to the whole group
    process.kill(-npm.pid!, 'SIGINT');

    // THEN npm exits with the CLI's code, 0: no shell between npm and the CLI (the shell died of the SIGINT, and npm
    // re-raised it), and npm's forwarded copy of the SIGINT is not taken for a second Ctrl-C (which forces 130)
    expect(await exited).toBe(0);
  }, 120_000);
});

describe('microbatch replay and run, as a user runs them (issue 8, item 1)', () => {
  it('a replay from the middle before the live job ever ran leaves nothing unwritten once the job runs', async () => {
    // Prepare: a keyspace and group of its own, and 100 ISO times on `test`, the first half sent a while before
    // the second, so that every partition holds records on both sides of the replay's start.
    const { client, keyspace } = await freshKeyspace();
    const group = uniqueName('it-group-');
    const config = ['-c', `keyspace.name=${keyspace}`, '-c', `jobs.sent-received.consumerGroupId=${group}`];
    await ensureTopics(endpoints.kafkaBrokers, [{ topic: 'test', partitions: 3 }]);
    const first = Array.from({ length: 50 }, (_, i) => new Date(Date.UTC(2031, 0, 1, 0, 0, i)).toISOString());
    const second = Array.from({ length: 50 }, (_, i) =>
      new Date(Date.UTC(2031, 0, 1, 0, 1, i)).toISOString(),
    );
    await sendValues(
      'test',
      first.map((value, i) => ({ value, partition: i % 3 })),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const middle = new Date(Date.now() - 700).toISOString();
    await sendValues(
      'test',
      second.map((value, i) => ({ value, partition: i % 3 })),
    );

    // Act 1: the replay, before any live run.
    const replay = microbatch(['replay', 'sent-received', '--from', middle, ...config]);
    expect(await replay.exited).toBe(0);

    // Act 2: the job itself, until every value has its row.
    const run = microbatch([
      'run',
      'sent-received',
      '-c',
      'jobs.sent-received.maxBatchingWindowSeconds=0',
      ...config,
    ]);
    const all = [...first, ...second];
    await waitFor(
      'a row for each of the 100 values',
      async () => {
        const rs = await client.execute(`SELECT time_sent FROM ${keyspace}.sent_received`);
        const have = new Set(rs.rows.map((r) => r.get('time_sent') as string));
        return all.every((v) => have.has(v)) ? true : undefined;
      },
      90_000,
    );
    run.child.kill('SIGINT');

    // Assess
    expect(await run.exited).toBe(0);
    expect(run.err()).toMatch(/^stopped sent-received$/m);
    expect(replay.out()).toMatch(/replay of sent-received done/);
    expect(replay.err()).toMatch(/no checkpoint yet: leaving these records to the job’s own consumer/);
    // The ledger, as `query batches` prints it: the replay's batches and the live ones, each with its mode, and
    // the live ones with their records' latency (Kafka's CreateTime is this machine's clock).
    const query = microbatch(['query', 'sent-received', 'batches', '--limit', '100', ...config]);
    expect(await query.exited).toBe(0);
    const lines = query.out().split('\n');
    const header = lines[1]!.split('|').map((c) => c.trim());
    expect(header).toEqual(
      expect.arrayContaining(['mode', 'in', 'written', 'latency_newest', 'latency_oldest']),
    );
    const rows = lines
      .filter((l) => /^\|\s+20\d\d-/.test(l))
      .map((l) => Object.fromEntries(l.split('|').map((c, i) => [header[i], c.trim()])));
    expect(new Set(rows.map((r) => r['mode']))).toEqual(new Set(['replay', 'live']));
    // The live job applied all 100 values (the replay deferred them): its batches with records are there to check.
    const live = rows.filter((r) => r['mode'] === 'live' && r['in'] !== '0');
    expect(live.length).toBeGreaterThan(0);
    for (const r of live) {
      expect(Number(r['latency_oldest'])).toBeGreaterThanOrEqual(Number(r['latency_newest']));
      expect(Number(r['latency_newest'])).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('graceful stop at any moment', () => {
  it('a SIGTERM during start-up exits 0', async () => {
    const { keyspace } = await freshKeyspace();
    const run = microbatch([
      'run',
      'sent-received',
      '-c',
      `keyspace.name=${keyspace}`,
      ...ownConsumerGroups(),
    ]);
    // As soon as it says it is starting: it is connecting to Cassandra and Kafka, with no runner up yet.
    await waitFor('the start', async () => (run.err().includes('starting') ? true : undefined));
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.err()).toContain('stopping gracefully');
  });
});

describe('microbatch run', () => {
  it('GIVEN no job names THEN starts a runner for every job and stops them gracefully', async () => {
    // GIVEN a keyspace of its own, and consumer groups of their own
    const { keyspace } = await freshKeyspace();
    const groups = ownConsumerGroups();

    // WHEN
    const run = microbatch(['run', '-c', `keyspace.name=${keyspace}`, ...groups]);
    await waitFor('the runners started', async () => (/running /.test(run.err()) ? true : undefined), 90_000);
    run.child.kill('SIGINT');

    // THEN
    expect(await run.exited).toBe(0);
    expect(run.err()).toMatch(/starting page-views, sensor-stats, sent-received \(/);
    expect(run.err()).toMatch(/running page-views, sensor-stats, sent-received; Ctrl-C stops gracefully/);
  });
});

describe('microbatch run --json: one structured log shape (issue 10, item 4)', () => {
  it('writes every line as Powertools JSON, each line of a batch with its batch id and request id', async () => {
    // GIVEN a keyspace and a group of its own, and records on a topic of the job
    const { keyspace } = await freshKeyspace();
    const group = uniqueName('it-group-');
    await ensureTopics(endpoints.kafkaBrokers, [{ topic: 'test', partitions: 3 }]);
    const run = microbatch([
      'run',
      'sent-received',
      '--json',
      '-c',
      `keyspace.name=${keyspace}`,
      '-c',
      `jobs.sent-received.consumerGroupId=${group}`,
      '-c',
      'jobs.sent-received.maxBatchingWindowSeconds=0',
    ]);
    await sendValues(
      'test',
      Array.from({ length: 6 }, (_, i) => ({ value: `2031-01-01 00:00:0${i}`, partition: i % 3 })),
    );
    await sendValues('test', [{ value: 'not a time', partition: 0 }]);

    // WHEN its batches have run
    await waitFor(
      'a micro-batch line',
      async () => (/"micro-batch"/.test(run.out()) ? true : undefined),
      90_000,
    );
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);

    // THEN stdout holds nothing but JSON lines in the logger's shape
    const lines = run
      .out()
      .split('\n')
      .filter(Boolean)
      .map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatchObject({
        level: expect.stringMatching(/^(DEBUG|INFO|WARN|ERROR)$/),
        message: expect.any(String),
        timestamp: expect.any(String),
        service: expect.stringMatching(/^microbatch-/),
      });
    }
    const batchLines = lines.filter((l) => l['message'] === 'micro-batch');
    expect(batchLines.length).toBeGreaterThan(0);
    for (const line of batchLines) {
      expect(line).toMatchObject({
        batchId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        function_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        service: 'microbatch-sent-received',
      });
    }
  });
});
