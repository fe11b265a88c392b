/**
 * The job registry: it finds every job file, and refuses a file that is not a job, a job named unlike its file,
 * two jobs on one table, a job on a runtime table and one topic declared two ways, each with the fix.
 * The broken projects are small trees under .local/ whose job files import the real runtime.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { findJob, JobRegistryError, loadJobs } from '../../../lambda/runtime/registry';
import { JOB_NAMES, SHIPPED_JOBS } from '../../support/jobs';

const ROOT = join(__dirname, '..', '..', '..');

describe('loadJobs', () => {
  it('finds the shipped jobs, each with its file as its Lambda entry, beside any job a user adds', async () => {
    // (A job of one's own, from `microbatch new job`, is found too: this test must not fail on it.)
    const jobs = await loadJobs();
    expect(jobs.map((j) => [j.name, j.entry])).toEqual(
      expect.arrayContaining(SHIPPED_JOBS.map((j) => [j.name, j.entry])),
    );
    const names = jobs.map((j) => j.name);
    expect(names).toEqual([...names].sort());
    expect(names.filter((n) => JOB_NAMES.includes(n))).toEqual(JOB_NAMES);
  });
});

/** A project of its own: `lambda/jobs/<file>` for each entry, importing the real runtime. */
function project(files: Record<string, string>): string {
  const root = join(ROOT, 'test', '.registry-' + randomUUID());
  mkdirSync(join(root, 'lambda', 'jobs', 'shared'), { recursive: true });
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const runtime = relative(join(root, 'lambda', 'jobs'), join(ROOT, 'lambda', 'runtime'))
    .split('\\')
    .join('/');
  const schema = relative(join(root, 'lambda', 'jobs'), join(ROOT, 'schema'))
    .split('\\')
    .join('/');
  for (const [file, body] of Object.entries(files)) {
    writeFileSync(
      join(root, 'lambda', 'jobs', file),
      `import { defineJob, defineTransformJob } from '${runtime}/job';\n` +
        `import { handlerFor } from '${runtime}/handler';\n` +
        `import { utf8 } from '${runtime}/decoders';\n` +
        `import { SENT_RECEIVED, DEAD_LETTERS } from '${schema}';\n` +
        `void [defineJob, defineTransformJob, handlerFor, utf8, SENT_RECEIVED, DEAD_LETTERS];\n${body}`,
    );
  }
  return root;
}

/** The body of a job file: a transform job on `topic` writing `table`. */
function job(name: string, options: { topic?: string; partitions?: number; table?: string } = {}): string {
  const table = options.table ?? `{ ...SENT_RECEIVED, name: '${name.replace(/-/g, '_')}' }`;
  return `
const table = ${table};
const topic = { name: '${options.topic ?? name}', doc: 'd', partitions: ${options.partitions ?? 3} };
const job = defineJob({
  name: '${name}', doc: 'd', kind: 'transform', topics: [topic], tables: [table], options: {},
  create: () => defineTransformJob({ name: '${name}', topics: [topic.name], decoder: utf8(), sinkTables: [table],
    transform: () => [] }),
});
export default job;
export const handler = handlerFor(job);
`;
}

describe('loadJobs on a broken project', () => {
  it.each([
    [
      'a file with no default export',
      { 'clicks.ts': 'export const x = 1;' },
      /lambda\/jobs\/clicks.ts has no job: every file in lambda\/jobs\/ exports a defineJob\(\.\.\.\) as its default export \(shared code goes in a subfolder/,
    ],
    [
      'a job named unlike its file',
      { 'clicks.ts': job('klicks') },
      /lambda\/jobs\/clicks.ts declares job 'klicks': name the file after its job \(lambda\/jobs\/klicks.ts\)/,
    ],
    [
      'a job without its handler',
      { 'clicks.ts': job('clicks').replace('export const handler', 'const handler') },
      /lambda\/jobs\/clicks.ts exports no handler: add `export const handler = handlerFor\(job\);`/,
    ],
    [
      'two jobs on one table',
      {
        'a.ts': job('a', { table: "{ ...SENT_RECEIVED, name: 'shared' }" }),
        'b.ts': job('b', { table: "{ ...SENT_RECEIVED, name: 'shared' }" }),
      },
      /Table 'shared' is written by jobs 'a' and 'b': give each job its own table/,
    ],
    [
      'two jobs whose names differ only by dashes',
      { 'a-b.ts': job('a-b'), 'ab.ts': job('ab') },
      /Jobs 'a-b' and 'ab' differ only by dashes, which CloudFormation drops from the pipeline stack's outputs \(RedriveFunctionab, Dashboardab\): rename one of them/,
    ],
    [
      "a job on one of the runtime's tables",
      { 'a.ts': job('a', { table: 'DEAD_LETTERS' }) },
      /Job 'a' writes table 'dead_letters', one of the runtime's own tables/,
    ],
    [
      'one topic declared two ways',
      { 'a.ts': job('a', { topic: 't', partitions: 3 }), 'b.ts': job('b', { topic: 't', partitions: 6 }) },
      /Topic 't' is declared differently by lambda\/jobs\/a.ts \(\{"name":"t","doc":"d","partitions":3\}\) and lambda\/jobs\/b.ts \(\{"name":"t","doc":"d","partitions":6\}\): declare it once, in lambda\/jobs\/shared\//,
    ],
  ])('refuses %s, saying how to fix it', async (_case, files, message) => {
    const root = project(files);
    await expect(loadJobs(root)).rejects.toThrow(JobRegistryError);
    await expect(loadJobs(root)).rejects.toThrow(message);
  });

  it('leaves the shared code of subfolders alone', async () => {
    const root = project({ 'a.ts': job('a') });
    writeFileSync(join(root, 'lambda', 'jobs', 'shared', 'util.ts'), 'export const helper = 1;\n');
    expect((await loadJobs(root)).map((j) => [j.name, j.entry])).toEqual([['a', 'lambda/jobs/a.ts']]);
  });
});

describe('findJob', () => {
  it('names the jobs there are, and the closest one to a typo', () => {
    expect(findJob(SHIPPED_JOBS, 'page-views').name).toBe('page-views');
    expect(() => findJob(SHIPPED_JOBS, 'sensor-stat')).toThrow(
      "Unknown job 'sensor-stat' (did you mean 'sensor-stats'?): the jobs are page-views, sensor-stats, sent-received, one per file in lambda/jobs/.",
    );
  });
});
