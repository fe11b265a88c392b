import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { kafkaMajor } from './config';
import { ArtifactFetchError, MavenNotFoundError, type ServiceName } from './errors';
import { type Layout, libDir, versionCacheDir } from './paths';

/**
 * Jars come from Maven Central through local/maven/pom.xml, one Maven profile per
 * service (plus Kafka's logging profile for its major), copied into
 * .local/cache/<service>/<version>/lib. A stamp file records which pom the copy came from,
 * so a warm cache costs one file read and a change of the pom refetches.
 *   https://maven.apache.org/plugins/maven-dependency-plugin/copy-dependencies-mojo.html
 */

interface Stamp {
  pomSha256: string;
  version: string;
}

/** The jar that must be in the lib dir for the copy to count as complete. */
export function mainJarName(service: ServiceName, version: string): string {
  return service === 'kafka' ? `kafka_2.13-${version}.jar` : `cassandra-all-${version}.jar`;
}

function stampFile(l: Layout, s: ServiceName, version: string): string {
  return path.join(versionCacheDir(l, s, version), 'fetched.json');
}

/**
 * The Maven profiles of a service at a version: Kafka 3 logs through reload4j, Kafka 4 through
 * log4j2 (local/maven/pom.xml says why each needs its binding).
 */
export function mavenProfiles(service: ServiceName, version: string): string[] {
  if (service === 'cassandra') return ['cassandra'];
  return ['kafka', kafkaMajor(version) === 3 ? 'kafka-reload4j' : 'kafka-log4j2'];
}

/** True when the cache of this version matches the current pom (no Maven needed). */
export function artifactsPresent(l: Layout, service: ServiceName, version: string): boolean {
  const lib = libDir(l, service, version);
  try {
    const stamp = JSON.parse(readFileSync(stampFile(l, service, version), 'utf8')) as Partial<Stamp>;
    return (
      stamp.pomSha256 === pomHash(l) &&
      stamp.version === version &&
      existsSync(path.join(lib, mainJarName(service, version)))
    );
  } catch {
    return false;
  }
}

function pomHash(l: Layout): string {
  return createHash('sha256').update(readFileSync(l.pomFile)).digest('hex');
}

export function assertMavenAvailable(): void {
  const r = spawnSync('mvn', ['--version'], { stdio: 'ignore', timeout: 30_000 });
  if (r.error || r.status !== 0) {
    throw new MavenNotFoundError(
      'Maven (mvn)',
      'Native mode fetches the Kafka and Cassandra jars with it. Install it (Debian/Ubuntu: `apt-get install -y maven`), ' +
        'or use MICROBATCH_SERVICES=compose (needs Docker) or external.',
      { cause: r.error },
    );
  }
}

/**
 * Make sure `.local/cache/<service>/<version>/lib` holds the service's jars; fetch them if
 * not. Returns the lib dir.
 */
export async function ensureArtifacts(
  l: Layout,
  service: ServiceName,
  version: string,
  log: (line: string) => void,
): Promise<string> {
  const lib = libDir(l, service, version);
  if (artifactsPresent(l, service, version)) return lib;
  assertMavenAvailable();
  // The cache of one version per service that came before .local/cache/<service>/<version>: nothing reads it now.
  for (const legacy of ['lib', 'fetched.json'])
    rmSync(path.join(l.cacheDir, service, legacy), { recursive: true, force: true });
  // Start from an empty dir so that jars of an older fetch do not stay on the classpath.
  rmSync(versionCacheDir(l, service, version), { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  mkdirSync(l.logDir, { recursive: true });
  const logFile = path.join(l.logDir, `maven-${service}-${version}.log`);
  log(`fetching ${service} ${version} jars with Maven into ${path.relative(l.root, lib)} ...`);
  const started = Date.now();
  const args = [
    '-B', // batch mode: no interactive prompts, no progress bars in the log
    '-Dstyle.color=never',
    '-f',
    l.pomFile,
    '-P',
    mavenProfiles(service, version).join(','),
    // The pom's <kafka.version> is the default; the version asked for wins.
    ...(service === 'kafka' ? [`-Dkafka.version=${version}`] : []),
    'dependency:copy-dependencies',
    `-DoutputDirectory=${lib}`,
  ];
  const { code, output } = await run('mvn', args, l.root);
  writeFileSync(logFile, `$ mvn ${args.join(' ')}\n${output}`);
  if (code !== 0 || !existsSync(path.join(lib, mainJarName(service, version)))) {
    throw new ArtifactFetchError(service, logFile, tail(output, 15));
  }
  const stamp: Stamp = { pomSha256: pomHash(l), version };
  writeFileSync(stampFile(l, service, version), JSON.stringify(stamp, null, 2) + '\n');
  const jars = readdirSync(lib).filter((f) => f.endsWith('.jar')).length;
  log(`fetched ${jars} ${service} jars in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return lib;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
