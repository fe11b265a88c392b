import * as path from 'node:path';
import type { ServiceName } from './errors';

/** Where everything of the service manager lives. All of .local/ is git-ignored. */
export interface Layout {
  root: string;
  /** local/config: the project's own config templates. */
  configDir: string;
  /** local/maven/pom.xml: what to fetch from Maven Central. */
  pomFile: string;
  /** docker-compose.yml for compose mode. */
  composeFile: string;
  /** .local/cache/<service>/<version>/lib: fetched jars, one directory per version (survives `reset`). */
  cacheDir: string;
  /** .local/data/<service>: Kafka log dirs (one per release line) / Cassandra data (wiped by `reset`). */
  dataDir: string;
  /** .local/logs/*.log */
  logDir: string;
  /** .local/run: PID files, rendered configs, the lock file. */
  runDir: string;
}

/** The repository root: two levels up from local/services. */
export function projectRoot(): string {
  return path.resolve(__dirname, '..', '..');
}

export function layout(root: string = projectRoot()): Layout {
  const local = path.join(root, '.local');
  return {
    root,
    configDir: path.join(root, 'local', 'config'),
    pomFile: path.join(root, 'local', 'maven', 'pom.xml'),
    composeFile: path.join(root, 'docker-compose.yml'),
    cacheDir: path.join(local, 'cache'),
    dataDir: path.join(local, 'data'),
    logDir: path.join(local, 'logs'),
    runDir: path.join(local, 'run'),
  };
}

/** One directory per version, so that switching MICROBATCH_KAFKA_VERSION back and forth never refetches. */
export function versionCacheDir(l: Layout, s: ServiceName, version: string): string {
  return path.join(l.cacheDir, s, version);
}
export function libDir(l: Layout, s: ServiceName, version: string): string {
  return path.join(versionCacheDir(l, s, version), 'lib');
}
export function serviceDataDir(l: Layout, s: ServiceName): string {
  return path.join(l.dataDir, s);
}
/** The KRaft log dir of one Kafka release line (see `kafkaLine`), under the service's data dir. */
export function kafkaLogDir(l: Layout, line: string): string {
  return path.join(serviceDataDir(l, 'kafka'), line);
}
/** The Kafka version the native broker of this checkout was started with (written at spawn). */
export function kafkaVersionFile(l: Layout): string {
  return path.join(l.runDir, 'kafka.version');
}
export function pidFile(l: Layout, s: ServiceName): string {
  return path.join(l.runDir, `${s}.pid`);
}
/** The JVM's own stdout/stderr (JVM startup errors land here, not in the service's log). */
export function outLogFile(l: Layout, s: ServiceName): string {
  return path.join(l.logDir, `${s}.out.log`);
}
/** The service's log (log4j for Kafka, logback for Cassandra, both size-bounded): the file to read when it misbehaves. */
export function mainLogFile(l: Layout, s: ServiceName): string {
  return path.join(l.logDir, `${s}.log`);
}
export function renderedConfDir(l: Layout, s: ServiceName): string {
  return path.join(l.runDir, 'conf', s);
}
