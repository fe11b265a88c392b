/**
 * The job registry: every file in `lambda/jobs/` (not its subfolders) declares one job with `defineJob` and
 * exports it as its default export. The CDK app, the local runner, `setup`, `query`, the UI and the bench take
 * their jobs from here, so adding a job is adding its file.
 *
 * The registry is for the tools, never for a Lambda bundle: each consumer's entry is its job's own file.
 */
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { closest } from '../../config';
import type { RegisteredJobDescriptor } from '../../config/jobs';
import { RUNTIME_TABLE_DEFS, type TopicDef } from '../../schema';
import { isJobDefinition, type JobDefinition } from './job';

/** The repository root (this file is `lambda/runtime/registry.ts`). */
const ROOT = resolve(__dirname, '..', '..');

/** Where the jobs live, relative to the repository root. */
export const JOBS_DIR = 'lambda/jobs';

/** A job definition and the file that declares it, relative to the repository root (the Lambda entry). */
export type RegisteredJob = JobDefinition & RegisteredJobDescriptor;

export class JobRegistryError extends Error {
  override readonly name = 'JobRegistryError';
}

/**
 * Loads a module with `import()`, which vitest and tsx's ESM hook (the CDK app) understand. Under tsx's CommonJS
 * hook alone (the `microbatch` command, local/bin.js), `import()` of a .ts file fails with
 * ERR_UNKNOWN_FILE_EXTENSION and `require` is the loader that understands TypeScript.
 */
async function loadModule(file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the loader tsx hooks, see above
    return require(file) as Record<string, unknown>;
  }
}

function defaultExport(module: Record<string, unknown>): unknown {
  const value = module.default;
  // A CommonJS module seen through `import()` nests its default export once more.
  if (!isJobDefinition(value) && typeof value === 'object' && value !== null && 'default' in value)
    return (value as { default: unknown }).default;
  return value;
}

/**
 * Every job of the project, sorted by name.
 * @param root the repository root (a test's temporary copy of the project passes its own)
 */
export async function loadJobs(root: string = ROOT): Promise<RegisteredJob[]> {
  const dir = join(root, JOBS_DIR);
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((f) => f.isFile() && f.name.endsWith('.ts') && !f.name.endsWith('.d.ts'))
    .map((f) => f.name)
    .sort();
  const jobs: RegisteredJob[] = [];
  for (const file of files) {
    const path = join(dir, file);
    const entry = relative(root, path).split('\\').join('/');
    let module: Record<string, unknown>;
    try {
      module = await loadModule(path);
    } catch (cause) {
      throw new JobRegistryError(`${entry} failed to load: ${(cause as Error).message}`, { cause });
    }
    const definition = defaultExport(module);
    if (!isJobDefinition(definition)) {
      throw new JobRegistryError(
        `${entry} has no job: every file in ${JOBS_DIR}/ exports a defineJob(...) as its default export (shared code goes in a subfolder, e.g. ${JOBS_DIR}/shared/).`,
      );
    }
    if (typeof module.handler !== 'function') {
      throw new JobRegistryError(
        `${entry} exports no handler: add \`export const handler = handlerFor(job);\`, the job's Lambda entry point.`,
      );
    }
    const expected = file.slice(0, -'.ts'.length);
    if (definition.name !== expected) {
      throw new JobRegistryError(
        `${entry} declares job '${definition.name}': name the file after its job (${JOBS_DIR}/${definition.name}.ts) or the job after its file ('${expected}').`,
      );
    }
    jobs.push({ ...definition, entry });
  }
  assertConsistent(jobs);
  return jobs;
}

/**
 * A job's name as the pipeline stack's per-job output keys keep it (`RedriveFunction-<job>`, `Dashboard-<job>`):
 * CloudFormation keeps only their letters and digits, so page-views and pageviews would have the same output.
 */
export function stackOutputKey(jobName: string): string {
  return jobName.replace(/-/g, '');
}

/**
 * Two jobs may read one topic, but must declare it alike; no two job names may differ only by dashes (their stack
 * outputs would be one); a table belongs to one job, and none is one of the runtime's own.
 */
function assertConsistent(jobs: readonly RegisteredJob[]): void {
  const declared = new Map<string, { topic: TopicDef; job: RegisteredJob }>();
  for (const job of jobs) {
    for (const topic of job.topics) {
      const first = declared.get(topic.name);
      if (!first) {
        declared.set(topic.name, { topic, job });
        continue;
      }
      if (first.topic !== topic && JSON.stringify(first.topic) !== JSON.stringify(topic)) {
        throw new JobRegistryError(
          `Topic '${topic.name}' is declared differently by ${first.job.entry} (${JSON.stringify(first.topic)}) and ` +
            `${job.entry} (${JSON.stringify(topic)}): declare it once, in lambda/jobs/shared/ (or schema/topics.ts ` +
            `for a shipped topic), and import that TopicDef in both.`,
        );
      }
    }
  }
  const byKey = new Map<string, string>();
  for (const job of jobs) {
    const key = stackOutputKey(job.name);
    const other = byKey.get(key);
    if (other !== undefined)
      throw new JobRegistryError(
        `Jobs '${other}' and '${job.name}' differ only by dashes, which CloudFormation drops from the pipeline ` +
          `stack's outputs (RedriveFunction${key}, Dashboard${key}): rename one of them.`,
      );
    byKey.set(key, job.name);
  }
  const owner = new Map<string, string>();
  for (const job of jobs) {
    for (const table of job.tables) {
      if (RUNTIME_TABLE_DEFS.some((t) => t.name === table.name))
        throw new JobRegistryError(
          `Job '${job.name}' writes table '${table.name}', one of the runtime's own tables: give the job a table of its own.`,
        );
      const other = owner.get(table.name);
      if (other && other !== job.name) {
        throw new JobRegistryError(
          `Table '${table.name}' is written by jobs '${other}' and '${job.name}': give each job its own table.`,
        );
      }
      owner.set(table.name, job.name);
    }
  }
}

/** The job named `name`, or an error that lists the jobs there are. */
export function findJob<J extends { readonly name: string }>(jobs: readonly J[], name: string): J {
  const job = jobs.find((j) => j.name === name);
  if (!job) {
    const guess = closest(
      name,
      jobs.map((j) => j.name),
    );
    throw new JobRegistryError(
      `Unknown job '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}: the jobs are ${jobs.map((j) => j.name).join(', ')}, one per file in ${JOBS_DIR}/.`,
    );
  }
  return job;
}
