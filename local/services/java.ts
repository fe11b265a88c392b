import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { JavaNotFoundError } from './errors';

/**
 * Cassandra 5.0 runs on Java 17 (it also supports 11). Java 24+ cannot run it at all: it
 * calls System.setSecurityManager, which those JDKs refuse. Machines here also carry a
 * newer JDK on PATH, so both services are pinned to a Java 17 binary explicitly.
 */
export const REQUIRED_JAVA_MAJOR = 17;

const INSTALL_HINT =
  'Install a Java 17 runtime (Debian/Ubuntu: `apt-get install -y openjdk-17-jre-headless`) ' +
  'or point JAVA17_HOME at a Java 17 installation.';

/** Default install locations of Debian/Ubuntu's OpenJDK 17 packages. */
export const DEFAULT_JAVA17_HOMES = [
  '/usr/lib/jvm/java-17-openjdk-amd64',
  '/usr/lib/jvm/java-17-openjdk-arm64',
];

type Env = Readonly<Record<string, string | undefined>>;

/** Major version from `java -version` output ("17.0.15" -> 17, legacy "1.8.0_392" -> 8). */
export function parseJavaMajorVersion(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!m?.[1]) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}

/** Runs `<bin> -version`; undefined if it cannot run. */
export function probeJavaMajor(javaBin: string): number | undefined {
  const r = spawnSync(javaBin, ['-version'], { encoding: 'utf8', timeout: 15_000 });
  if (r.error || r.status !== 0) return undefined;
  return parseJavaMajorVersion(`${r.stderr}\n${r.stdout}`);
}

export interface JavaResolution {
  /** Absolute path, or plain "java" when taken from PATH. */
  bin: string;
  /** Where it came from, for log lines. */
  source: string;
}

/**
 * The Java 17 binary to run services with, in this order:
 * 1. `$JAVA17_HOME/bin/java` (an error if set but not Java 17: the user asked for it);
 * 2. Debian's `/usr/lib/jvm/java-17-openjdk-<arch>`;
 * 3. `java` on PATH, if `java -version` says 17.
 */
export function resolveJava17(
  env: Env = process.env,
  probe: (bin: string) => number | undefined = probeJavaMajor,
  exists: (p: string) => boolean = existsSync,
): JavaResolution {
  const fromEnv = env.JAVA17_HOME?.trim();
  if (fromEnv) {
    const bin = path.join(fromEnv, 'bin', 'java');
    const major = exists(bin) ? probe(bin) : undefined;
    if (major === REQUIRED_JAVA_MAJOR) return { bin, source: 'JAVA17_HOME' };
    throw new JavaNotFoundError(
      `Java ${REQUIRED_JAVA_MAJOR} at JAVA17_HOME`,
      `Fix or unset JAVA17_HOME. ${INSTALL_HINT}`,
      { detail: major === undefined ? `${bin} does not run` : `${bin} is Java ${major}` },
    );
  }
  for (const home of DEFAULT_JAVA17_HOMES) {
    const bin = path.join(home, 'bin', 'java');
    if (exists(bin) && probe(bin) === REQUIRED_JAVA_MAJOR) return { bin, source: home };
  }
  const onPath = probe('java');
  if (onPath === REQUIRED_JAVA_MAJOR) return { bin: 'java', source: 'PATH' };
  throw new JavaNotFoundError(`Java ${REQUIRED_JAVA_MAJOR}`, INSTALL_HINT, {
    detail:
      `looked in JAVA17_HOME (unset), ${DEFAULT_JAVA17_HOMES.join(', ')} and PATH` +
      (onPath === undefined
        ? ' (no java on PATH)'
        : ` (java on PATH is ${onPath}, and Cassandra 5.0 cannot run on Java 24+)`),
  });
}
