/**
 * scripts/ensure-cfn-lint.sh, which `npm run test:unit` runs first so that the infra tests find cfn-lint on a
 * machine with no Java or services. Each case copies the script and its requirements into a directory of its
 * own, so the project's own venv is never touched, and runs it with a PATH of its own.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';

const SCRIPTS = join(__dirname, '..', '..', 'scripts');
const BASICS = ['bash', 'sed', 'mkdir', 'rm', 'mktemp', 'cat', 'dirname'];
const PINNED = /^cfn-lint==(.+)$/m.exec(
  readFileSync(join(SCRIPTS, 'cfn-lint-requirements.txt'), 'utf8'),
)![1]!;

/** A project directory with the script, and a PATH with the basic tools and no Python. */
function project(): { root: string; path: string } {
  const root = mkdtempSync(join(tmpdir(), 'ensure-cfn-lint-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'scripts'));
  for (const file of ['ensure-cfn-lint.sh', 'cfn-lint-requirements.txt'])
    copyFileSync(join(SCRIPTS, file), join(root, 'scripts', file));
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const tool of BASICS) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(found, join(bin, tool));
  }
  return { root, path: bin };
}

const run = ({ root, path }: { root: string; path: string }) =>
  spawnSync(join(path, 'bash'), [join(root, 'scripts', 'ensure-cfn-lint.sh')], {
    encoding: 'utf8',
    env: { PATH: path, HOME: root },
  });

describe('ensure-cfn-lint.sh', () => {
  it('GIVEN no Python THEN stops, naming what the infra tests need and how to install it', () => {
    const r = run(project());
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cfn-lint, which needs Python 3 with venv');
    expect(r.stderr).toContain('sudo apt-get install -y python3 python3-venv');
    expect(r.stderr).toContain('brew install python@3');
  });

  it('GIVEN the venv already holds the pinned cfn-lint THEN does nothing, not even start Python', () => {
    const p = project();
    mkdirSync(
      join(
        p.root,
        '.local',
        'cfn-lint',
        'lib',
        'python3.11',
        'site-packages',
        `cfn_lint-${PINNED}.dist-info`,
      ),
      {
        recursive: true,
      },
    );
    const r = run(p);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});
