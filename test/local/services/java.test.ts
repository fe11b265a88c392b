import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JavaNotFoundError, PrerequisiteError } from '../../../local/services/errors';
import { parseJavaMajorVersion, probeJavaMajor, resolveJava17 } from '../../../local/services/java';

describe('parseJavaMajorVersion', () => {
  it.each([
    [
      'openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)',
      17,
    ],
    ['openjdk version "25" 2025-09-16 LTS', 25],
    ['openjdk version "21-ea" 2023-09-19', 21],
    ['java version "1.8.0_392"', 8],
    ['openjdk version "11.0.22" 2024-01-16', 11],
  ])('reads %j as %i', (out, major) => {
    expect(parseJavaMajorVersion(out)).toBe(major);
  });

  it('returns undefined for output that is not a version banner', () => {
    expect(parseJavaMajorVersion('bash: java: command not found')).toBeUndefined();
  });
});

describe('resolveJava17', () => {
  const debian = '/usr/lib/jvm/java-17-openjdk-amd64/bin/java';

  it('prefers JAVA17_HOME when it is Java 17', () => {
    const r = resolveJava17(
      { JAVA17_HOME: '/opt/jdk17' },
      () => 17,
      () => true,
    );
    expect(r).toEqual({ bin: path.join('/opt/jdk17', 'bin', 'java'), source: 'JAVA17_HOME' });
  });

  it('refuses a JAVA17_HOME that is another Java, and says which', () => {
    const run = (): unknown =>
      resolveJava17(
        { JAVA17_HOME: '/opt/jdk25' },
        () => 25,
        () => true,
      );
    expect(run).toThrow(JavaNotFoundError);
    expect(run).toThrow('/opt/jdk25/bin/java is Java 25');
    expect(run).toThrow('Fix or unset JAVA17_HOME');
  });

  it("falls back to Debian's OpenJDK 17 path, ignoring a newer java on PATH", () => {
    const probe = (bin: string): number => (bin === debian ? 17 : 25);
    expect(resolveJava17({}, probe, (p) => p === debian)).toEqual({
      bin: debian,
      source: path.dirname(path.dirname(debian)),
    });
  });

  it('uses java on PATH when it is 17', () => {
    expect(
      resolveJava17(
        {},
        (bin) => (bin === 'java' ? 17 : undefined),
        () => false,
      ),
    ).toEqual({ bin: 'java', source: 'PATH' });
  });

  it('explains how to install Java 17 when there is none', () => {
    let err: unknown;
    try {
      resolveJava17(
        {},
        (bin) => (bin === 'java' ? 25 : undefined),
        () => false,
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JavaNotFoundError);
    expect(err).toBeInstanceOf(PrerequisiteError);
    const msg = (err as Error).message;
    expect(msg).toContain('apt-get install -y openjdk-17-jre-headless');
    expect(msg).toContain('java on PATH is 25');
    expect((err as Error).name).toBe('JavaNotFoundError');
  });

  it('finds a working Java 17 on this machine (scripts/ensure-test-tools.sh installs one)', () => {
    const r = resolveJava17();
    expect(probeJavaMajor(r.bin)).toBe(17);
  });
});
