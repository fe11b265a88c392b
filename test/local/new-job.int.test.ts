/**
 * A job dropped in, as a user adds one: in a copy of the project, `microbatch new job clicks` writes the job and
 * its test, and with no other edit the job type-checks, passes its own test, synthesizes (its topic, its table,
 * a consumer with its event source mapping), runs in `microbatch local` against the real Kafka and Cassandra,
 * and shows in `microbatch query` and in the UI's JSON API (issue 10, item 1).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeCassandra, freshKeyspace, microbatch, waitFor } from '../support/integration';

const ROOT = join(__dirname, '..', '..');
const exec = promisify(execFile);
let copy: string;

afterAll(closeCassandra);

beforeAll(async () => {
  // The project as a clone has it (tracked and new files, nothing ignored), sharing node_modules.
  copy = join(tmpdir(), `microbatch-new-job-${randomUUID()}`);
  const { stdout } = await exec('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT });
  for (const file of stdout.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    try {
      cpSync(join(ROOT, file), join(copy, file));
    } catch (error) {
      // A file deleted in the work tree but not yet in the index.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
}, 60_000);

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

/** Runs a command in the copy; fails the test with its output when it exits non-zero. */
async function inCopy(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  try {
    return await exec(file, [...args], {
      cwd: copy,
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, {
      cause: error,
    });
  }
}

describe('microbatch new job clicks, in a copy of the project', () => {
  it('writes the job and its test, which type-check and pass with no other edit', async () => {
    const created = await inCopy(process.execPath, ['local/bin.js', 'new', 'job', 'clicks']);
    expect(created.stdout).toContain('lambda/jobs/clicks.ts');
    expect(created.stdout).toContain('test/lambda/jobs/clicks.test.ts');

    // Type-check the new files and all they import, under the project's own compiler options (the rest of the
    // project is `npm test`'s own tsc run).
    writeFileSync(
      join(copy, 'tsconfig.new-job.json'),
      JSON.stringify({
        extends: './tsconfig.json',
        include: ['lambda/jobs/clicks.ts', 'test/lambda/jobs/clicks.test.ts'],
      }),
    );
    await inCopy(process.execPath, [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--noEmit',
      '-p',
      'tsconfig.new-job.json',
    ]);

    const tested = await inCopy(join(copy, 'node_modules', '.bin', 'vitest'), [
      'run',
      '--project',
      'unit',
      'test/lambda/jobs/clicks.test.ts',
    ]);
    const summary = stripVTControlCharacters(tested.stdout);
    expect(summary).toMatch(/Tests\s+\d+ passed \(\d+\)/);
    expect(summary).not.toMatch(/failed/);
  }, 180_000);

  it('synthesizes its topic, its table, and a consumer fed by an event source mapping on its topic', async () => {
    const out = join(copy, 'cdk.out.test');
    await inCopy(join(copy, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      CDK_OUTDIR: out,
      // Bundling is what the infra tests cover; here the question is what the app declares for the new job.
      CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }),
      CDK_DEFAULT_ACCOUNT: '000000000000',
      CDK_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    const templates = Object.fromEntries(
      readdirSync(out)
        .filter((f) => f.endsWith('.template.json'))
        .map((f) => [f, JSON.parse(readFileSync(join(out, f), 'utf8')) as Template]),
    );
    const resources = Object.values(templates).flatMap((t) => Object.entries(t.Resources ?? {}));
    const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);

    const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(([, r]) =>
      JSON.stringify(r.Properties?.['Topics']).includes('"clicks"'),
    );
    expect(mappings).toHaveLength(1);
    const [, mapping] = mappings[0]!;
    const fn = ofType('AWS::Lambda::Function').find(([id]) =>
      JSON.stringify(mapping.Properties?.['FunctionName']).includes(id),
    );
    expect(fn?.[0]).toMatch(/^Consumerclicks/);
    expect(JSON.stringify(fn?.[1].Properties?.['Environment'])).toContain('"MICROBATCH_JOB":"clicks"');

    expect(ofType('AWS::Cassandra::Table').map(([, r]) => r.Properties?.['TableName'])).toContain('clicks');
    expect(JSON.stringify(templates)).toMatch(/"Name":"clicks","Partitions":3/);
  }, 180_000);

  it('runs in microbatch local, and shows in query and in the UI', async () => {
    const { client, keyspace } = await freshKeyspace();
    const port = 4000 + Math.floor(Math.random() * 900);
    const local = microbatch(
      [
        'local',
        '--port',
        String(port),
        '-c',
        `keyspace.name=${keyspace}`,
        '-c',
        'jobs.clicks.maxBatchingWindowSeconds=1',
      ],
      { root: copy, env: { MICROBATCH_SERVICES: 'external' } },
    );

    await waitFor(
      'a batch of clicks with rows in its table',
      async () => {
        if (!/Batch \d+: clicks/.test(local.out())) return undefined;
        // No COUNT: the Keyspaces-strict mode refuses aggregates, as Keyspaces does.
        const rs = await client.execute(`SELECT id FROM ${keyspace}.clicks LIMIT 1`);
        return rs.rowLength > 0 ? true : undefined;
      },
      120_000,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\nstdout:\n${local.out()}\nstderr:\n${local.err()}`, {
        cause: error,
      });
    });

    const jobs = await waitFor('the UI', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/jobs`).catch(() => undefined);
      return res?.ok ? ((await res.json()) as { jobs: Array<{ name: string }> }) : undefined;
    });
    expect(jobs.jobs.map((j) => j.name)).toContain('clicks');
    const batches = (await (
      await fetch(`http://127.0.0.1:${port}/api/jobs/clicks/batches?limit=5`)
    ).json()) as { batches: Array<{ recordsIn: number }> };
    expect(batches.batches.length).toBeGreaterThan(0);

    const query = await inCopy(
      process.execPath,
      ['local/bin.js', 'query', 'clicks', '-c', `keyspace.name=${keyspace}`],
      { MICROBATCH_SERVICES: 'external' },
    );
    expect(query.stdout).toMatch(/id-\d+/);
    expect(query.stdout).toContain('received_at');

    local.child.kill('SIGINT');
    expect(await local.exited).toBe(0);
  }, 240_000);
});

interface Template {
  readonly Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}
