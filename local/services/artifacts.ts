import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { readPinnedVersions } from './config';
import { ArtifactFetchError, MavenNotFoundError, type ServiceName } from './errors';
import { type Layout, libDir } from './paths';

/**
 * Jars come from Maven Central through local/maven/pom.xml, one Maven profile per
 * service, copied into .local/cache/<service>/lib. A stamp file records which pom the
 * copy came from, so a warm cache costs one file read and a version bump refetches.
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

function stampFile(l: Layout, s: ServiceName): string {
  return path.join(l.cacheDir, s, 'fetched.json');
}

/** True when the cache matches the current pom (no Maven needed). */
export function artifactsPresent(l: Layout, service: ServiceName): boolean {
  const version = readPinnedVersions(l.pomFile)[service];
  const lib = libDir(l, service);
  try {
    const stamp = JSON.parse(readFileSync(stampFile(l, service), 'utf8')) as Partial<Stamp>;
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
 * Make sure `.local/cache/<service>/lib` holds the service's jars; fetch them if not.
 * Returns the lib dir.
 */
export async function ensureArtifacts(
  l: Layout,
  service: ServiceName,
  log: (line: string) => void,
): Promise<string> {
  const lib = libDir(l, service);
  if (artifactsPresent(l, service)) return lib;
  assertMavenAvailable();
  const version = readPinnedVersions(l.pomFile)[service];
  // Start from an empty dir so that jars of an older version do not stay on the classpath.
  rmSync(path.join(l.cacheDir, service), { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  mkdirSync(l.logDir, { recursive: true });
  const logFile = path.join(l.logDir, `maven-${service}.log`);
  log(`fetching ${service} ${version} jars with Maven into ${path.relative(l.root, lib)} ...`);
  const started = Date.now();
  const args = [
    '-B', // batch mode: no interactive prompts, no progress bars in the log
    '-Dstyle.color=never',
    '-f',
    l.pomFile,
    '-P',
    service,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${lib}`,
  ];
  const { code, output } = await run('mvn', args, l.root);
  writeFileSync(logFile, `$ mvn ${args.join(' ')}\n${output}`);
  if (code !== 0 || !existsSync(path.join(lib, mainJarName(service, version)))) {
    throw new ArtifactFetchError(service, logFile, tail(output, 15));
  }
  const stamp: Stamp = { pomSha256: pomHash(l), version };
  writeFileSync(stampFile(l, service), JSON.stringify(stamp, null, 2) + '\n');
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
