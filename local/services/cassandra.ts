import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseJvmOptions, renderTemplate } from './config';
import { ServiceStartError } from './errors';
import { type Layout, renderedConfDir, serviceDataDir } from './paths';

/**
 * Cassandra 5.0 started the way bin/cassandra + conf/cassandra-env.sh would, minus the
 * shell: https://github.com/apache/cassandra/blob/cassandra-5.0/conf/cassandra-env.sh
 */

export const CASSANDRA_MAIN_CLASS = 'org.apache.cassandra.service.CassandraDaemon';
/** 9042 CQL (native transport), 7000 inter-node storage port (bound even on one node). */
export const CASSANDRA_PORTS = [9042, 7000] as const;

/**
 * Heap: fixed (Xms = Xmx, as upstream recommends for G1). cassandra-env.sh would pick
 * max(min(RAM/2, 1G), min(RAM/4, 8G)) = 6G on a 24 GiB machine, far more than a dev node
 * needs. 768m holds the default memtable space (1/4 heap) and key cache for test
 * workloads; measured RSS is about 1.3 GB with it, against 1.57 GB with 1g (Cassandra
 * also uses ~300 MB off heap: direct buffers, GC structures, metaspace, mapped files).
 */
export const CASSANDRA_HEAP = '768m';

export interface CassandraFiles {
  yaml: string;
  logback: string;
  jvmOptions: string;
}

/** Render cassandra.yaml (absolute data paths) into .local/run/conf/cassandra. */
export function renderCassandraConfig(l: Layout): CassandraFiles {
  const outDir = renderedConfDir(l, 'cassandra');
  mkdirSync(outDir, { recursive: true });
  const template = readFileSync(path.join(l.configDir, 'cassandra', 'cassandra.yaml'), 'utf8');
  const yaml = path.join(outDir, 'cassandra.yaml');
  writeFileSync(
    yaml,
    renderTemplate(
      template,
      // The template puts it inside single-quoted YAML strings, where ' is written ''.
      { CASSANDRA_DATA_DIR: serviceDataDir(l, 'cassandra').replace(/'/g, "''") },
      'local/config/cassandra/cassandra.yaml',
    ),
  );
  return {
    yaml,
    logback: path.join(l.configDir, 'cassandra', 'logback.xml'),
    jvmOptions: path.join(l.configDir, 'cassandra', 'jvm17.options'),
  };
}

/**
 * jamm measures object sizes for memtable accounting; Cassandra needs it as a Java agent
 * (cassandra-env.sh: JAVA_AGENT="$JAVA_AGENT -javaagent:$CASSANDRA_HOME/lib/jamm-*.jar").
 * We take it from the same dependency set, so its version always matches cassandra-all's.
 */
export function findJammJar(lib: string): string {
  const jars = existsSync(lib) ? readdirSync(lib).filter((f) => /^jamm-[\d.]+\.jar$/.test(f)) : [];
  const jar = jars.sort().at(-1);
  if (!jar) {
    throw new ServiceStartError(
      'cassandra',
      `No jamm-*.jar in ${lib}; Cassandra cannot start without it as -javaagent. Delete ${path.dirname(lib)} and run up again to refetch.`,
      undefined,
    );
  }
  return path.join(lib, jar);
}

export function cassandraJavaArgs(l: Layout, lib: string, files: CassandraFiles): string[] {
  const flags = parseJvmOptions(
    readFileSync(files.jvmOptions, 'utf8'),
    'local/config/cassandra/jvm17.options',
  );
  const dataDir = serviceDataDir(l, 'cassandra');
  return [
    ...flags,
    `-Xms${CASSANDRA_HEAP}`,
    `-Xmx${CASSANDRA_HEAP}`,
    `-XX:HeapDumpPath=${l.logDir}`,
    `-javaagent:${findJammJar(lib)}`,
    `-Dcassandra.config=file://${files.yaml}`,
    // Default for any directory not set in the yaml.
    `-Dcassandra.storagedir=${dataDir}`,
    // Read by local/config/cassandra/logback.xml.
    `-Dcassandra.logdir=${l.logDir}`,
    `-Dlogback.configurationFile=file://${files.logback}`,
    '-cp',
    path.join(lib, '*'),
    CASSANDRA_MAIN_CLASS,
  ];
}
