/**
 * The README's first command, as a user runs it: `microbatch local` brings everything up, prints batches with
 * their offset ranges, serves the streaming UI, and exits 0 on Ctrl-C after a graceful stop.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '../support/integration';

describe('microbatch local', () => {
  it('shows batches landing, serves them in the UI, and stops gracefully with exit code 0', async () => {
    const port = 4000 + Math.floor(Math.random() * 900);
    const child = spawn(
      process.execPath,
      [
        require.resolve('tsx/cli'),
        join(__dirname, '..', '..', 'local', 'cli.ts'),
        'local',
        '--port',
        String(port),
        '-c',
        'jobs.sent-received.maxBatchingWindowSeconds=1',
        '-c',
        'jobs.sensor-stats.maxBatchingWindowSeconds=1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    onTestFinished(() => void child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await waitFor(
      'a batch of topic test',
      async () =>
        /Batch \d+: sent-received[\s\S]*OffsetRange\(topic: 'test', partition: \d+, range: \[\d+ -> \d+\]\)/.test(
          stdout,
        )
          ? true
          : undefined,
      90_000,
    );
    const page = await waitFor('the UI', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/jobs/sent-received/batches?limit=5`);
      return res.ok ? ((await res.json()) as { batches: Array<{ recordsIn: number }> }) : undefined;
    });
    expect(page.batches.length).toBeGreaterThan(0);
    expect(page.batches[0]!.recordsIn).toBeGreaterThan(0);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopping gracefully');
  });
});
