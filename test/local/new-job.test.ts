/**
 * `microbatch new job`: what it writes and what it refuses. That the written job type-checks, passes its test,
 * synthesizes and runs is test/local/new-job.int.test.ts, in a copy of the project.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig, objectGetter } from '../../config';
import { NewJobError, newJob } from '../../local/new-job';
import { runMicroBatch } from '../../lambda/runtime/batch';
import { createJob, jobConfigOf, type JobDefinition } from '../../lambda/runtime/job';
import { DEAD_LETTERS } from '../../schema';
import { batchOf } from '../support/events';
import { MemoryCheckpointStore, MemorySinkStore } from '../support/memory-store';
import { SHIPPED_JOBS } from '../support/jobs';

const ROOT = join(__dirname, '..', '..');
const LOCAL = join(ROOT, '.local');

/** Under the repository, so prettier finds the project's config; .local/ is ignored by git, eslint and vitest. */
function emptyRoot(): string {
  mkdirSync(LOCAL, { recursive: true });
  const root = mkdtempSync(join(LOCAL, 'new-job-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

describe('newJob', () => {
  it('writes a transform job and its test, named after the job', async () => {
    const root = emptyRoot();
    const { files } = await newJob({ name: 'click-stream', window: false, root });
    expect(files).toEqual(['lambda/jobs/click-stream.ts', 'test/lambda/jobs/click-stream.test.ts']);
    const job = readFileSync(join(root, files[0]!), 'utf8');
    expect(job).toContain("name: 'click-stream'");
    expect(job).toContain("kind: 'transform'");
    expect(job).toContain("name: 'click_stream'"); // its table: CQL names take no dashes
    expect(job).toMatch(/export default clickStream;/);
    expect(job).toMatch(/export const handler = handlerFor\(clickStream\);/);
    const test = readFileSync(join(root, files[1]!), 'utf8');
    expect(test).toContain("from '../../../lambda/jobs/click-stream'");
  });

  it('writes a window job with its window options when asked', async () => {
    const root = emptyRoot();
    const { files } = await newJob({ name: 'temps', window: true, root });
    const job = readFileSync(join(root, files[0]!), 'utf8');
    expect(job).toContain("kind: 'window'");
    expect(job).toContain('windowTable({');
    expect(job).toContain('windowSeconds: option.int(');
  });

  it('never overwrites: a second run names the file that exists', async () => {
    const root = emptyRoot();
    await newJob({ name: 'clicks', window: false, root });
    await expect(newJob({ name: 'clicks', window: true, root })).rejects.toThrow(
      new NewJobError('lambda/jobs/clicks.ts exists already: pick another name, or edit that job.'),
    );
  });

  it.each(['Clicks', 'clicks_v2', '2clicks', 'clicks-', 'a--b', '', 'x'.repeat(64), 'x'.repeat(49)])(
    "refuses the name '%s', saying what a name is",
    async (name) => {
      await expect(newJob({ name, window: false, root: emptyRoot() })).rejects.toThrow(
        /is invalid: use lower-case letters, digits and single dashes, starting with a letter/,
      );
    },
  );
});

describe('newJob and CQL', () => {
  it.each(['select', 'table', 'order'])(
    "refuses the name '%s', whose table would be a CQL reserved word, before writing anything",
    async (name) => {
      const root = emptyRoot();
      await expect(newJob({ name, window: false, root })).rejects.toThrow(
        new NewJobError(
          `Job name '${name}' would name its table '${name}', a CQL reserved word: pick another name (e.g. ${name}s or my-${name}).`,
        ),
      );
    },
  );

  it.each([
    ['keyspace', 'my-keyspace'],
    ['mbean', 'my-mbean'],
  ])(
    "GIVEN '%s', whose plural is reserved too THEN suggests only a name it would take",
    async (name, other) => {
      const root = emptyRoot();
      await expect(newJob({ name, window: false, root })).rejects.toThrow(
        new NewJobError(
          `Job name '${name}' would name its table '${name}', a CQL reserved word: pick another name (e.g. ${other}).`,
        ),
      );
    },
  );

  it("GIVEN a job's own file THEN says the file exists, even where its topic is taken (by that very job)", async () => {
    const root = emptyRoot();
    await newJob({ name: 'clicks', window: false, root });
    const existing = [{ name: 'clicks', topics: [{ name: 'clicks' }], tables: [{ name: 'clicks' }] }];
    await expect(newJob({ name: 'clicks', window: false, root, existing } as never)).rejects.toThrow(
      'lambda/jobs/clicks.ts exists already',
    );
  });
});

describe('newJob and TypeScript', () => {
  // The job's variable takes the name in camelCase: a reserved word does not parse, and a name the generated
  // files already use (an import, the handler export, the test's own constants) is declared twice.
  it.each([
    'class',
    'new',
    'let',
    'handler',
    'json',
    'define-job',
    'handler-for',
    'window-table',
    'max-event-time-ahead',
    'event',
    'job',
    'config',
  ])("refuses the name '%s', whose variable would not compile, before writing anything", async (name) => {
    const root = emptyRoot();
    await expect(newJob({ name, window: false, root })).rejects.toThrow(NewJobError);
    await expect(newJob({ name, window: true, root })).rejects.toThrow(/would name its variable/);
    expect(existsSync(join(root, 'lambda'))).toBe(false);
  });
});

describe('newJob and the jobs there are', () => {
  it('GIVEN a 48-character name THEN writes it: its table name is at the limit, not past it', async () => {
    const { files } = await newJob({ name: 'x'.repeat(48), window: false, root: emptyRoot() });
    expect(files).toHaveLength(2);
  });

  it.each(SHIPPED_JOBS.flatMap((j) => j.topics.map((t) => [t.name, j.name] as const)))(
    "GIVEN the name of topic '%s' (job %s's) THEN refuses it before writing, naming the owner",
    async (topic, owner) => {
      const root = emptyRoot();
      await expect(newJob({ name: topic, window: false, root, existing: SHIPPED_JOBS })).rejects.toThrow(
        `Topic '${topic}' is job '${owner}''s already`,
      );
      expect(existsSync(join(root, 'lambda'))).toBe(false);
    },
  );

  it.each([
    ['pageviews', 'page-views'],
    ['sentreceived', 'sent-received'],
    ['sensor-stat-s', 'sensor-stats'],
  ])(
    "GIVEN '%s', which is job %s's name but for its dashes THEN refuses it before writing",
    async (name, other) => {
      const root = emptyRoot();
      await expect(newJob({ name, window: false, root, existing: SHIPPED_JOBS })).rejects.toThrow(
        `Job name '${name}' differs from job '${other}''s only by dashes, which CloudFormation drops from the ` +
          "pipeline stack's outputs: pick another name.",
      );
      expect(existsSync(join(root, 'lambda'))).toBe(false);
    },
  );

  it.each([
    ['page-view-counts', "job 'page-views''s"],
    ['dead-letters', "one of the runtime's own"],
  ])("GIVEN '%s', whose table is taken THEN refuses it, saying whose", async (name, whose) => {
    await expect(newJob({ name, window: false, root: emptyRoot(), existing: SHIPPED_JOBS })).rejects.toThrow(
      `is ${whose} already, and a new job gets a table of its own named after it: pick another name.`,
    );
  });
});

describe('newJob, the window job it writes', () => {
  it('GIVEN maxEventTimeAheadSeconds THEN dead-letters a record stamped far ahead as future, as the shipped window jobs do', async () => {
    // GIVEN the window job it writes, importing the real runtime (its root links the folders the job imports)
    const root = emptyRoot();
    const { files } = await newJob({ name: 'temps', window: true, root });
    mkdirSync(join(root, 'lambda', 'jobs'), { recursive: true });
    for (const dir of ['config', 'schema', join('lambda', 'runtime'), join('lambda', 'jobs', 'shared')])
      symlinkSync(join(ROOT, dir), join(root, dir), 'dir');
    const temps = (await import(pathToFileURL(join(root, files[0]!)).href)) as { default: JobDefinition };
    const config = loadConfig(objectGetter({ 'jobs.temps.maxEventTimeAheadSeconds': 3600 }), [temps.default]);
    const job = createJob(temps.default, jobConfigOf(temps.default, config));

    // WHEN a record stamped a year ahead of its Kafka timestamp comes before one of now
    const now = Date.UTC(2026, 4, 21, 2, 20, 0);
    const deps = {
      checkpoints: new MemoryCheckpointStore(),
      sink: new MemorySinkStore(),
      log: () => undefined,
    };
    const report = await runMicroBatch(
      job,
      batchOf(
        'temps',
        [
          JSON.stringify({ id: 'a', ts: now + 365 * 86_400_000, value: 1 }),
          JSON.stringify({ id: 'a', ts: now, value: 2 }),
        ],
        { timestamp: now },
      ),
      deps,
    );

    // THEN the first is a dead letter, and the watermark did not move a year ahead: the second is not late
    expect(report).toMatchObject({ recordsIn: 2, written: 1, deadLettered: 1, late: 0 });
    expect(deps.sink.rows(DEAD_LETTERS)).toEqual([expect.objectContaining({ reason: 'future' })]);
  });
});

describe('newJob formatting', () => {
  it('formats what it writes as the project does, so a new job passes prettier --check', async () => {
    const root = emptyRoot();
    const prettier = await import('prettier');
    for (const [name, window] of [
      ['a-rather-long-job-name-for-line-widths', false],
      ['w', true],
    ] as const) {
      const { files } = await newJob({ name, window, root });
      for (const file of files) {
        const path = join(root, file);
        const options = { ...(await prettier.resolveConfig(path)), filepath: path };
        expect(await prettier.check(readFileSync(path, 'utf8'), options), file).toBe(true);
      }
    }
  });
});
