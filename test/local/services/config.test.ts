import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CASSANDRA_MAIN_CLASS,
  cassandraJavaArgs,
  renderCassandraConfig,
} from '../../../local/services/cassandra';
import {
  kafkaLine,
  parseJvmOptions,
  parseProperties,
  readPinnedVersions,
  renderTemplate,
  resolveVersions,
} from '../../../local/services/config';
import { ServicesSettingError, ServiceStartError } from '../../../local/services/errors';
import {
  KAFKA_MAIN_CLASS,
  kafkaJavaArgs,
  newClusterId,
  renderKafkaConfig,
} from '../../../local/services/kafka';
import { type Layout, layout, projectRoot } from '../../../local/services/paths';

const repo = layout(projectRoot());
const tmpRoots: string[] = [];

/** A layout whose .local/ is in a temp dir, reading the repository's real config templates. */
function tempLayout(name = "dir with space and 'quote'"): Layout {
  const root = path.join(mkdtempSync(path.join(tmpdir(), 'services-config-')), name);
  mkdirSync(root, { recursive: true });
  tmpRoots.push(root);
  return { ...layout(root), configDir: repo.configDir, pomFile: repo.pomFile };
}

afterEach(() => {
  for (const r of tmpRoots.splice(0)) rmSync(path.dirname(r), { recursive: true, force: true });
});

describe('renderTemplate', () => {
  it('replaces every placeholder, with or without inner blanks', () => {
    expect(renderTemplate('a={{X}} b={{ X }} c={{Y}}', { X: '1', Y: '2' })).toBe('a=1 b=1 c=2');
  });

  it('fails on a placeholder without a value', () => {
    expect(() => renderTemplate('dir={{DATA}}', {}, 'my.yaml')).toThrow(
      new ServicesSettingError('my.yaml uses {{DATA}} but no value was given for it.'),
    );
  });

  it('fails on a value the template does not use', () => {
    expect(() => renderTemplate('static', { DATA: '/x' }, 'my.yaml')).toThrow(
      /has no \{\{DATA\}\} placeholder/,
    );
  });
});

describe('parseJvmOptions', () => {
  it('keeps flags and skips comments and blank lines', () => {
    expect(parseJvmOptions('# c\n\n-Xss256k\n  --add-opens=java.base/java.io=ALL-UNNAMED  \n')).toEqual([
      '-Xss256k',
      '--add-opens=java.base/java.io=ALL-UNNAMED',
    ]);
  });

  it('rejects a line that is not one flag (e.g. the two-word form of --add-opens)', () => {
    expect(() => parseJvmOptions('--add-opens java.base/java.io=ALL-UNNAMED', 'x.options')).toThrow(
      /x\.options line 1/,
    );
  });
});

describe('readPinnedVersions (local/maven/pom.xml)', () => {
  it('defaults to Kafka 4.x, also tests 3.9.x, and pins Cassandra to 5.0.x', () => {
    const v = readPinnedVersions(repo.pomFile);
    expect(v.kafka).toMatch(/^4\.\d+\.\d+$/);
    expect(v.kafkaAlsoTested).toMatch(/^3\.9\.\d+$/);
    expect(v.cassandra).toMatch(/^5\.0\.\d+$/);
  });

  it('matches the default Kafka image tag in docker-compose.yml', () => {
    const compose = readFileSync(repo.composeFile, 'utf8');
    expect(compose).toContain(
      `image: apache/kafka:\${MICROBATCH_KAFKA_VERSION:-${readPinnedVersions(repo.pomFile).kafka}}\n`,
    );
  });
});

describe('resolveVersions (MICROBATCH_KAFKA_VERSION)', () => {
  const pinned = readPinnedVersions(repo.pomFile);

  it("runs the pom's versions when the variable is unset or empty", () => {
    expect(resolveVersions(repo.pomFile, {})).toEqual({ kafka: pinned.kafka, cassandra: pinned.cassandra });
    expect(resolveVersions(repo.pomFile, { MICROBATCH_KAFKA_VERSION: ' ' }).kafka).toBe(pinned.kafka);
  });

  it('runs the Kafka it names', () => {
    expect(resolveVersions(repo.pomFile, { MICROBATCH_KAFKA_VERSION: pinned.kafkaAlsoTested })).toEqual({
      kafka: pinned.kafkaAlsoTested,
      cassandra: pinned.cassandra,
    });
  });

  it('refuses what is not a release number, and a major the native mode cannot run', () => {
    expect(() => resolveVersions(repo.pomFile, { MICROBATCH_KAFKA_VERSION: 'latest' })).toThrow(
      /MICROBATCH_KAFKA_VERSION="latest" is not a Kafka release number/,
    );
    expect(() => resolveVersions(repo.pomFile, { MICROBATCH_KAFKA_VERSION: '2.8.2' })).toThrow(
      /Kafka 2\.8\.2 is not supported locally/,
    );
  });

  it('keeps one KRaft log dir per release line', () => {
    expect(kafkaLine('4.4.0')).toBe('4.4');
    expect(kafkaLine('4.4.1')).toBe('4.4');
    expect(kafkaLine('3.9.2')).not.toBe(kafkaLine('4.0.0'));
  });
});

describe('Kafka config and command line', () => {
  it('renders server.properties for a single KRaft node with its data under .local/data/kafka/<line>', () => {
    const l = tempLayout();
    const files = renderKafkaConfig(l, '4.4.0');
    const props = parseProperties(readFileSync(files.serverProperties, 'utf8'));
    expect(props.get('process.roles')).toBe('broker,controller');
    expect(props.get('log.dirs')).toBe(path.join(l.root, '.local', 'data', 'kafka', '4.4'));
    expect(files.logDir).toBe(props.get('log.dirs'));
    expect(renderKafkaConfig(l, '3.9.2').logDir).toBe(path.join(l.root, '.local', 'data', 'kafka', '3.9'));
    expect(props.get('listeners')).toBe('PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
    expect(props.get('controller.quorum.voters')).toBe('1@127.0.0.1:9093');
    for (const k of [
      'offsets.topic.replication.factor',
      'transaction.state.log.replication.factor',
      'transaction.state.log.min.isr',
    ]) {
      expect(props.get(k), k).toBe('1');
    }
    expect(props.get('auto.create.topics.enable')).toBe('false');
  });

  it('runs kafka.Kafka from the cached jars with a bounded heap', () => {
    const files = {
      serverProperties: '/r/server.properties',
      logging: { kind: 'log4j' as const, file: '/c/log4j.properties' },
      logDir: '/r/.local/data/kafka/3.9',
    };
    const l = layout('/r');
    const args = kafkaJavaArgs(l, '/cache/kafka/3.9.2/lib', files);
    expect(args.slice(-2)).toEqual([KAFKA_MAIN_CLASS, '/r/server.properties']);
    expect(args[args.indexOf('-cp') + 1]).toBe('/cache/kafka/3.9.2/lib/*');
    expect(args).toContain('-Xmx512m');
    expect(args).toContain('-Dlog4j.configuration=file:/c/log4j.properties');
    expect(args).toContain('-Dkafka.logs.dir=/r/.local/logs');
  });

  it("configures each major's logging: log4j 1.x properties for 3.x, log4j2 YAML for 4.x", () => {
    const l = tempLayout();
    const k3 = renderKafkaConfig(l, '3.9.2');
    const k4 = renderKafkaConfig(l, '4.4.0');
    expect(k3.logging).toEqual({ kind: 'log4j', file: path.join(l.configDir, 'kafka', 'log4j.properties') });
    expect(k4.logging).toEqual({ kind: 'log4j2', file: path.join(l.configDir, 'kafka', 'log4j2.yaml') });
    expect(kafkaJavaArgs(l, '/lib', k4)).toContain(`-Dlog4j2.configurationFile=${k4.logging.file}`);
    expect(kafkaJavaArgs(l, '/lib', k4).some((a) => a.startsWith('-Dlog4j.configuration='))).toBe(false);
    // Both write the one size-bounded .local/logs/kafka.log that error messages point at.
    expect(readFileSync(k4.logging.file, 'utf8')).toContain("fileName: '${sys:kafka.logs.dir}/kafka.log'");
    expect(readFileSync(k3.logging.file, 'utf8')).toContain(
      'log4j.appender.file.File=${kafka.logs.dir}/kafka.log',
    );
  });

  it('makes KRaft cluster ids in the storage tool format: 16 bytes, base64url, no leading dash', () => {
    for (let i = 0; i < 200; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });
});

describe('Cassandra config and command line', () => {
  it('renders cassandra.yaml with every directory under .local/data/cassandra, quoted for YAML', () => {
    const l = tempLayout();
    const yaml = readFileSync(renderCassandraConfig(l).yaml, 'utf8');
    expect(yaml).not.toContain('{{');
    const data = path.join(l.root, '.local', 'data', 'cassandra').replace(/'/g, "''");
    for (const [key, sub] of [
      ['commitlog_directory', 'commitlog'],
      ['hints_directory', 'hints'],
      ['saved_caches_directory', 'saved_caches'],
      ['cdc_raw_directory', 'cdc_raw'],
    ]) {
      expect(yaml).toContain(`\n${key}: '${data}/${sub}'\n`);
    }
    expect(yaml).toContain(`data_file_directories:\n  - '${data}/data'\n`);
    expect(yaml).toMatch(/\nlisten_address: 127\.0\.0\.1\n/);
    expect(yaml).toMatch(/\nrpc_address: 127\.0\.0\.1\n/);
    expect(yaml).toMatch(/\nnative_transport_port: 9042\n/);
    expect(yaml).toMatch(/\nnum_tokens: 1\n/);
  });

  it('passes the Java 17 module flags, jamm as agent, our yaml and logback, and CassandraDaemon last', () => {
    const l = tempLayout('plain');
    const lib = path.join(l.cacheDir, 'cassandra', 'lib');
    mkdirSync(lib, { recursive: true });
    writeFileSync(path.join(lib, 'jamm-0.4.0.jar'), '');
    const files = renderCassandraConfig(l);
    const args = cassandraJavaArgs(l, lib, files);
    expect(args.at(-1)).toBe(CASSANDRA_MAIN_CLASS);
    expect(args).toContain(`-javaagent:${path.join(lib, 'jamm-0.4.0.jar')}`);
    expect(args).toContain(`-Dcassandra.config=file://${files.yaml}`);
    expect(args).toContain(`-Dlogback.configurationFile=file://${files.logback}`);
    expect(args).toContain(`-Dcassandra.logdir=${l.logDir}`);
    expect(args).toContain('-Xmx768m');
    // A sample of the flags that Cassandra 5.0 cannot start without on Java 17.
    expect(args).toContain('--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED');
    expect(args).toContain('--add-opens=java.base/sun.nio.ch=ALL-UNNAMED');
    expect(args).toContain('-Djdk.attach.allowAttachSelf=true');
    expect(args.filter((a) => a.startsWith('--add-'))).toHaveLength(23);
  });

  it('fails with a fix when jamm is missing from the jar cache', () => {
    const l = tempLayout('plain');
    const lib = path.join(l.cacheDir, 'cassandra', 'lib');
    mkdirSync(lib, { recursive: true });
    const run = (): unknown => cassandraJavaArgs(l, lib, renderCassandraConfig(l));
    expect(run).toThrow(ServiceStartError);
    expect(run).toThrow(/No jamm-\*\.jar in .*run up again to refetch/);
  });
});
