/**
 * scripts/ensure-test-tools.sh away from Debian: with no apt-get it must not die on the missing command, but
 * name what is missing and the command that installs it on that system, and point at `npm run test:unit`.
 * The script runs with a PATH of its own: the basic tools, a fake `dnf` or `uname`, and no Java, Maven,
 * Compose or apt-get.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'ensure-test-tools.sh');
const BASICS = ['bash', 'ls', 'grep', 'sed', 'mkdir', 'rm', 'mktemp', 'cat', 'id', 'dirname'];

function machine(extra: Record<string, string>): string {
  const bin = mkdtempSync(join(tmpdir(), 'ensure-tools-'));
  onTestFinished(() => rmSync(bin, { recursive: true, force: true }));
  for (const tool of BASICS) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(found, join(bin, tool));
  }
  for (const [name, body] of Object.entries(extra)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

function run(bin: string) {
  return spawnSync(join(bin, 'bash'), [SCRIPT], {
    encoding: 'utf8',
    env: { PATH: bin, HOME: tmpdir(), MICROBATCH_CHROMIUM: '/nonexistent/chromium', JAVA17_HOME: '' },
  });
}

describe('ensure-test-tools.sh without apt-get', () => {
  it('on Fedora: names what is missing and the dnf command that installs it', () => {
    const r = run(machine({ dnf: 'exit 0', uname: 'echo Linux', python3: 'exit 0' }));
    expect(r.status).toBe(1);
    // (Java 17 may be found at Debian's path on the machine running the test, which the script also checks.)
    expect(r.stderr).toMatch(
      /^ensure-test-tools: missing docker-compose maven (openjdk-17-jre-headless )?chromium\. /,
    );
    expect(r.stderr).toMatch(
      /sudo dnf install -y docker-compose maven (java-17-openjdk-headless )?chromium\n/,
    );
    expect(r.stderr).toContain('`npm run test:unit` runs the unit and infra tests');
    expect(r.stderr).not.toMatch(/apt-get: (command )?not found/);
  });

  it('on macOS: the brew formulas and casks, and the variables that point at them', () => {
    const r = run(machine({ uname: 'echo Darwin', python3: 'exit 1' }));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/brew install docker-compose maven (openjdk@17 )?python@3\n/);
    expect(r.stderr).toContain('brew install --cask chromium');
    expect(r.stderr).toContain('JAVA17_HOME=$(brew --prefix openjdk@17)');
  });
});
