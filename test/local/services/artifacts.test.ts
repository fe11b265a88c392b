import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  artifactsPresent,
  assertMavenAvailable,
  mainJarName,
  mavenProfiles,
} from '../../../local/services/artifacts';
import { readPinnedVersions } from '../../../local/services/config';
import { MavenNotFoundError } from '../../../local/services/errors';
import { layout, libDir, projectRoot, versionCacheDir } from '../../../local/services/paths';

const repo = layout(projectRoot());
const root = mkdtempSync(path.join(tmpdir(), 'services-artifacts-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const l = { ...layout(root), pomFile: repo.pomFile };
const versions = readPinnedVersions(repo.pomFile);
const pomSha256 = createHash('sha256').update(readFileSync(repo.pomFile)).digest('hex');

function fill(
  service: 'kafka' | 'cassandra',
  stamp: object | undefined,
  withJar = true,
  version = versions[service],
): void {
  rmSync(path.join(l.cacheDir, service), { recursive: true, force: true });
  mkdirSync(libDir(l, service, version), { recursive: true });
  if (withJar) writeFileSync(path.join(libDir(l, service, version), mainJarName(service, version)), '');
  if (stamp)
    writeFileSync(path.join(versionCacheDir(l, service, version), 'fetched.json'), JSON.stringify(stamp));
}

describe('jar cache', () => {
  it('names the main jar of each service', () => {
    expect(mainJarName('kafka', '3.9.2')).toBe('kafka_2.13-3.9.2.jar');
    expect(mainJarName('cassandra', '5.0.9')).toBe('cassandra-all-5.0.9.jar');
  });

  it('is missing when nothing was fetched', () => {
    expect(artifactsPresent(l, 'kafka', versions.kafka)).toBe(false);
  });

  it('is present when the stamp matches the pom and the main jar is there', () => {
    fill('kafka', { pomSha256, version: versions.kafka });
    expect(artifactsPresent(l, 'kafka', versions.kafka)).toBe(true);
  });

  it('keeps one cache per version: the other tested Kafka is missing until it is fetched', () => {
    fill('kafka', { pomSha256, version: versions.kafka });
    expect(artifactsPresent(l, 'kafka', versions.kafkaAlsoTested)).toBe(false);
    expect(libDir(l, 'kafka', versions.kafka)).not.toBe(libDir(l, 'kafka', versions.kafkaAlsoTested));
  });

  it('is stale when the stamp names another version than its directory', () => {
    fill('kafka', { pomSha256, version: versions.kafkaAlsoTested });
    expect(artifactsPresent(l, 'kafka', versions.kafka)).toBe(false);
  });

  it('is stale when the pom changed since the fetch', () => {
    fill('cassandra', { pomSha256: '0'.repeat(64), version: versions.cassandra });
    expect(artifactsPresent(l, 'cassandra', versions.cassandra)).toBe(false);
  });

  it('is incomplete when the main jar is missing (an interrupted copy)', () => {
    fill('cassandra', { pomSha256, version: versions.cassandra }, false);
    expect(artifactsPresent(l, 'cassandra', versions.cassandra)).toBe(false);
  });

  it('is incomplete without a stamp (the fetch did not finish)', () => {
    fill('kafka', undefined);
    expect(artifactsPresent(l, 'kafka', versions.kafka)).toBe(false);
  });
});

describe('mavenProfiles', () => {
  it("adds the logging binding of the Kafka major: reload4j for 3.x, log4j2 for 4.x (Kafka 4's KIP-653)", () => {
    expect(mavenProfiles('kafka', '3.9.2')).toEqual(['kafka', 'kafka-reload4j']);
    expect(mavenProfiles('kafka', '4.4.0')).toEqual(['kafka', 'kafka-log4j2']);
    expect(mavenProfiles('cassandra', '5.0.9')).toEqual(['cassandra']);
  });

  it('refuses a Kafka major the native mode cannot run, naming the variable', () => {
    expect(() => mavenProfiles('kafka', '2.8.2')).toThrow(/MICROBATCH_KAFKA_VERSION/);
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
