import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { artifactsPresent, assertMavenAvailable, mainJarName } from '../../../local/services/artifacts';
import { readPinnedVersions } from '../../../local/services/config';
import { MavenNotFoundError } from '../../../local/services/errors';
import { layout, libDir, projectRoot } from '../../../local/services/paths';

const repo = layout(projectRoot());
const root = mkdtempSync(path.join(tmpdir(), 'services-artifacts-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const l = { ...layout(root), pomFile: repo.pomFile };
const versions = readPinnedVersions(repo.pomFile);
const pomSha256 = createHash('sha256').update(readFileSync(repo.pomFile)).digest('hex');

function fill(service: 'kafka' | 'cassandra', stamp: object | undefined, withJar = true): void {
  rmSync(path.join(l.cacheDir, service), { recursive: true, force: true });
  mkdirSync(libDir(l, service), { recursive: true });
  if (withJar) writeFileSync(path.join(libDir(l, service), mainJarName(service, versions[service])), '');
  if (stamp) writeFileSync(path.join(l.cacheDir, service, 'fetched.json'), JSON.stringify(stamp));
}

describe('jar cache', () => {
  it('names the main jar of each service', () => {
    expect(mainJarName('kafka', '3.9.2')).toBe('kafka_2.13-3.9.2.jar');
    expect(mainJarName('cassandra', '5.0.9')).toBe('cassandra-all-5.0.9.jar');
  });

  it('is missing when nothing was fetched', () => {
    expect(artifactsPresent(l, 'kafka')).toBe(false);
  });

  it('is present when the stamp matches the pom and the main jar is there', () => {
    fill('kafka', { pomSha256, version: versions.kafka });
    expect(artifactsPresent(l, 'kafka')).toBe(true);
  });

  it('is stale when the pom changed since the fetch', () => {
    fill('cassandra', { pomSha256: '0'.repeat(64), version: versions.cassandra });
    expect(artifactsPresent(l, 'cassandra')).toBe(false);
  });

  it('is incomplete when the main jar is missing (an interrupted copy)', () => {
    fill('cassandra', { pomSha256, version: versions.cassandra }, false);
    expect(artifactsPresent(l, 'cassandra')).toBe(false);
  });

  it('is incomplete without a stamp (the fetch did not finish)', () => {
    fill('kafka', undefined);
    expect(artifactsPresent(l, 'kafka')).toBe(false);
  });
});

describe('assertMavenAvailable', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('passes on this machine (scripts/ensure-test-tools.sh installs Maven)', () => {
    expect(() => assertMavenAvailable()).not.toThrow();
  });

  it('says how to install Maven, or which mode needs none, when mvn is not on PATH', () => {
    vi.stubEnv('PATH', path.join(root, 'empty-bin'));
    const run = (): unknown => assertMavenAvailable();
    expect(run).toThrow(MavenNotFoundError);
    expect(run).toThrow('apt-get install -y maven');
    expect(run).toThrow('MICROBATCH_SERVICES=compose');
  });
});
