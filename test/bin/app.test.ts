/**
 * bin/app.ts as the CDK CLI runs it: a child process with the context in CDK_CONTEXT_JSON and the output
 * directory in CDK_OUTDIR, offline, with a placeholder account.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CDK_CONTEXT } from '../lib/support';

const ROOT = join(__dirname, '..', '..');

function runApp(context: Record<string, unknown>, outdir: string): SpawnSyncReturns<string> {
  return spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 110_000,
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_CONTEXT, ...context }),
      CDK_DEFAULT_ACCOUNT: '000000000000',
      CDK_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
}

describe('bin/app.ts', () => {
  let outdir: string;
  let run: SpawnSyncReturns<string>;
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'microbatch-bin-'));
    // Flat dotted keys, as `cdk synth -c kafka.mode=serverless -c stage=qa` passes them.
    run = runApp({ 'kafka.mode': 'serverless', stage: 'qa' }, outdir);
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('synthesizes the four stacks of the stage from -c keys', () => {
    expect(run.status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    const stacks = Object.values(
      manifest.artifacts as Record<string, { type: string; properties?: { stackName?: string } }>,
    )
      .filter((a) => a.type === 'aws:cloudformation:stack')
      .map((a) => a.properties?.stackName)
      .sort();
    expect(stacks).toEqual([
      'qa-microbatch-kafka',
      'qa-microbatch-keyspaces',
      'qa-microbatch-network',
      'qa-microbatch-pipeline',
    ]);
  });

  it('takes kafka.mode from the context', () => {
    const kafka = readFileSync(join(outdir, 'Kafka.template.json'), 'utf8');
    expect(kafka).toContain('AWS::MSK::ServerlessCluster');
  });

  it('fails on an invalid value, naming the key, the value and what is allowed', () => {
    const failed = runApp({ 'jobs.sent-received.batchSize': '20000' }, join(outdir, 'failed'));
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toMatch(
      /Invalid config 'jobs.sent-received.batchSize': received "20000"; expected an integer from 1 to 10000/,
    );
  });
});
