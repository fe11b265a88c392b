import { spawn, spawnSync } from 'node:child_process';
import { ComposeNotFoundError, ServicesError } from './errors';
import type { Layout } from './paths';
import { tail } from './artifacts';

/**
 * Compose mode drives docker-compose.yml at the repository root. Compose v2
 * (`docker compose`) is preferred: `up --wait` blocks on the health checks in the file.
 * The standalone v1 `docker-compose` has no --wait; we then rely on our own health wait.
 *   https://docs.docker.com/reference/cli/docker/compose/up/
 */

export interface ComposeCommand {
  argv: string[];
  supportsWait: boolean;
}

export function findCompose(): ComposeCommand {
  const v2 = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 10_000 });
  if (!v2.error && v2.status === 0) return { argv: ['docker', 'compose'], supportsWait: true };
  const v1 = spawnSync('docker-compose', ['version'], { stdio: 'ignore', timeout: 10_000 });
  if (!v1.error && v1.status === 0) return { argv: ['docker-compose'], supportsWait: false };
  throw new ComposeNotFoundError(
    'Docker Compose (`docker compose` or `docker-compose`)',
    'Install the Compose plugin (https://docs.docker.com/compose/install/), or use MICROBATCH_SERVICES=native.',
  );
}

export class ComposeCommandError extends ServicesError {}

export async function compose(
  l: Layout,
  c: ComposeCommand,
  args: string[],
  log: (line: string) => void,
): Promise<void> {
  const [cmd, ...pre] = c.argv;
  if (cmd === undefined) throw new ComposeCommandError('empty compose command');
  const full = [...pre, '-f', l.composeFile, '--project-directory', l.root, ...args];
  log(`$ ${c.argv.join(' ')} ${['-f', l.composeFile, ...args].join(' ')}`);
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn(cmd, full, { cwd: l.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output: out }));
  });
  if (code !== 0) {
    throw new ComposeCommandError(
      `\`${c.argv.join(' ')} ${args.join(' ')}\` failed (exit ${code}):\n${tail(output, 15)}\n` +
        `Inspect with \`${c.argv.join(' ')} -f ${l.composeFile} logs\`.`,
    );
  }
}

/** Whether compose has a running container for `service`. */
export function composeServiceRunning(l: Layout, c: ComposeCommand, service: string): boolean {
  const [cmd, ...pre] = c.argv;
  if (cmd === undefined) return false;
  const r = spawnSync(
    cmd,
    [...pre, '-f', l.composeFile, '--project-directory', l.root, 'ps', '-q', service],
    {
      encoding: 'utf8',
      timeout: 15_000,
    },
  );
  return r.status === 0 && r.stdout.trim().length > 0;
}
