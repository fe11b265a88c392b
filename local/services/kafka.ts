import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { kafkaLine, kafkaMajor, renderTemplate } from './config';
import { ServiceStartError } from './errors';
import { type Layout, kafkaLogDir, outLogFile, renderedConfDir } from './paths';
import { tail } from './artifacts';

/**
 * Kafka 3.9 or 4.x in KRaft combined mode (broker + controller in one JVM).
 * What Kafka's own bin/kafka-server-start.sh and bin/kafka-run-class.sh would do, minus
 * the shell: https://github.com/apache/kafka/blob/4.0/bin/kafka-run-class.sh (3.9: the same
 * flags, with log4j 1.x instead of log4j2).
 */

export const KAFKA_MAIN_CLASS = 'kafka.Kafka';
export const KAFKA_STORAGE_TOOL = 'kafka.tools.StorageTool';
/** 9092 clients, 9093 the KRaft controller listener (see local/config/kafka/server.properties). */
export const KAFKA_PORTS = [9092, 9093] as const;

/**
 * JVM flags. The heap is kafka-server-start.sh's default maximum of 1G halved: a
 * single-node dev broker with a few test topics uses well under 200 MB. The GC flags
 * are kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS.
 */
export const KAFKA_JVM_FLAGS: readonly string[] = [
  '-Xms256m',
  '-Xmx512m',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
];

export interface KafkaFiles {
  readonly serverProperties: string;
  /** The broker's logging config: log4j 1.x properties for Kafka 3, log4j2 YAML for Kafka 4. */
  readonly logging: { readonly kind: 'log4j' | 'log4j2'; readonly file: string };
  /** The KRaft log dir of this version's release line. */
  readonly logDir: string;
}

/** Render server.properties (absolute log.dirs) into .local/run/conf/kafka, for one Kafka version. */
export function renderKafkaConfig(l: Layout, version: string): KafkaFiles {
  const outDir = renderedConfDir(l, 'kafka');
  mkdirSync(outDir, { recursive: true });
  const template = readFileSync(path.join(l.configDir, 'kafka', 'server.properties'), 'utf8');
  const serverProperties = path.join(outDir, 'server.properties');
  const logDir = kafkaLogDir(l, kafkaLine(version));
  writeFileSync(
    serverProperties,
    renderTemplate(template, { KAFKA_LOG_DIRS: logDir }, 'local/config/kafka/server.properties'),
  );
  // Kafka 4 replaced log4j 1.x with log4j2 (KIP-653): the 3.x file would be ignored there.
  const logging =
    kafkaMajor(version) === 3
      ? { kind: 'log4j' as const, file: path.join(l.configDir, 'kafka', 'log4j.properties') }
      : { kind: 'log4j2' as const, file: path.join(l.configDir, 'kafka', 'log4j2.yaml') };
  return { serverProperties, logging, logDir };
}

function baseArgs(l: Layout, lib: string, files: KafkaFiles): string[] {
  return [
    // What kafka-run-class.sh passes: log4j 1.x (reload4j) wants a URL, log4j2 a file or URL.
    files.logging.kind === 'log4j'
      ? `-Dlog4j.configuration=file:${files.logging.file}`
      : `-Dlog4j2.configurationFile=${files.logging.file}`,
    // Read by both logging configs (kafka-run-class.sh sets the same property).
    `-Dkafka.logs.dir=${l.logDir}`,
    '-cp',
    path.join(lib, '*'),
  ];
}

export function kafkaJavaArgs(l: Layout, lib: string, files: KafkaFiles): string[] {
  return [...KAFKA_JVM_FLAGS, ...baseArgs(l, lib, files), KAFKA_MAIN_CLASS, files.serverProperties];
}

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding (22 characters), which
 * is what `kafka-storage.sh random-uuid` prints (org.apache.kafka.common.Uuid). Kafka's own
 * generator also avoids a leading '-', which a CLI would read as an option.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The storage of a KRaft node is formatted when its log dir has meta.properties. */
export function kafkaStorageFormatted(files: Pick<KafkaFiles, 'logDir'>): boolean {
  return existsSync(path.join(files.logDir, 'meta.properties'));
}

/**
 * `kafka-storage.sh format` on first start of a release line only: KRaft refuses to start
 * on an unformatted log dir, and formatting again would need a wipe first. With the static
 * `controller.quorum.voters` of server.properties, 3.9 and 4.x format the same way.
 *   https://kafka.apache.org/39/documentation.html#kraft_storage
 *   https://kafka.apache.org/40/documentation.html#kraft_storage
 * Returns true if it formatted.
 */
export async function formatKafkaStorageIfNeeded(
  l: Layout,
  java: string,
  lib: string,
  files: KafkaFiles,
  log: (line: string) => void,
): Promise<boolean> {
  if (kafkaStorageFormatted(files)) return false;
  mkdirSync(files.logDir, { recursive: true });
  const clusterId = newClusterId();
  log(`formatting KRaft storage in ${path.relative(l.root, files.logDir)} (cluster id ${clusterId})`);
  const args = [
    '-Xmx256m',
    ...baseArgs(l, lib, files),
    KAFKA_STORAGE_TOOL,
    'format',
    '-t',
    clusterId,
    '-c',
    files.serverProperties,
  ];
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn(java, args, { cwd: l.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c ?? 1, output: out }));
  });
  const logFile = outLogFile(l, 'kafka');
  mkdirSync(path.dirname(logFile), { recursive: true });
  appendFileSync(logFile, `[microbatch] ${KAFKA_STORAGE_TOOL} format -t ${clusterId}\n${output}`);
  if (code !== 0 || !kafkaStorageFormatted(files)) {
    throw new ServiceStartError(
      'kafka',
      `Formatting KRaft storage failed (exit ${code}):\n${tail(output, 10)}`,
      logFile,
    );
  }
  return true;
}
