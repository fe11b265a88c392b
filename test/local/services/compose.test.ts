import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readPinnedVersions } from '../../../local/services/config';
import { layout, projectRoot } from '../../../local/services/paths';

/**
 * Validates docker-compose.yml with `docker compose config` (Compose v2) where Docker has the Compose plugin,
 * and otherwise with Debian's docker-compose (1.29), which checks the file against the Compose schema without a
 * Docker engine (scripts/ensure-test-tools.sh installs it). With neither, this test fails rather than skips, so
 * a broken compose file can never pass unnoticed. The two print the resolved file in different layouts, so the
 * assertions read the parsed YAML.
 */
const file = layout(projectRoot()).composeFile;

function composeCommand(): readonly string[] {
  const v2 = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 30_000 });
  if (v2.status === 0) return ['docker', 'compose'];
  const v1 = spawnSync('docker-compose', ['version'], { encoding: 'utf8', timeout: 30_000 });
  if (v1.status === 0) return ['docker-compose'];
  throw new Error(
    'Neither `docker compose` (v2) nor docker-compose is installed, so docker-compose.yml cannot be validated. ' +
      'Run `bash scripts/ensure-test-tools.sh`, or install the Compose plugin ' +
      '(https://docs.docker.com/compose/install/).',
  );
}
const COMPOSE = composeCommand();

/** `compose config`, with MICROBATCH_KAFKA_VERSION as given (unset: the default). */
function composeConfigWith(kafkaVersion: string | undefined, ...args: string[]): string {
  const env = { ...process.env };
  delete env.MICROBATCH_KAFKA_VERSION;
  if (kafkaVersion !== undefined) env.MICROBATCH_KAFKA_VERSION = kafkaVersion;
  const [command, ...prefix] = COMPOSE;
  const r = spawnSync(command!, [...prefix, '-f', file, 'config', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env,
  });
  if (r.status !== 0)
    throw new Error(`${COMPOSE.join(' ')} config ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

interface ResolvedService {
  readonly image: string;
  readonly ports?: ReadonlyArray<string | { host_ip?: string; target: number; published: string | number }>;
  readonly healthcheck?: unknown;
  readonly environment?: Record<string, string>;
}

interface Resolved {
  readonly services: Record<string, ResolvedService>;
  readonly volumes: Record<string, { readonly name?: string } | null>;
}

function resolved(kafkaVersion?: string): Resolved {
  return parse(composeConfigWith(kafkaVersion)) as Resolved;
}

/** `127.0.0.1:9092->9092`, from v1's short syntax or v2's long one. */
function portsOf(service: ResolvedService): string[] {
  return (service.ports ?? []).map((p) =>
    typeof p === 'string'
      ? p.replace(/^(.*):(\d+):(\d+)(\/tcp)?$/, '$1:$2->$3')
      : `${p.host_ip ?? '0.0.0.0'}:${p.published}->${p.target}`,
  );
}

const lines = (text: string): string[] => text.trim().split('\n').sort();

// Each docker-compose call starts a Python program (1-2 s idle, several seconds on a loaded machine).
describe('docker-compose.yml', { timeout: 30_000 }, () => {
  it('is a valid Compose file', () => {
    expect(composeConfigWith(undefined, '-q')).toBe('');
  });

  it('defines exactly the kafka and cassandra services, with named volumes', () => {
    expect(lines(composeConfigWith(undefined, '--services'))).toEqual(['cassandra', 'kafka']);
    expect(lines(composeConfigWith(undefined, '--volumes'))).toEqual(['cassandra-data', 'kafka-data']);
  });

  it('publishes the same loopback ports as native mode and has health checks', () => {
    const { services } = resolved();
    expect(services['kafka']!.image).toMatch(/^apache\/kafka:4\.\d+\.\d+$/);
    expect(services['cassandra']!.image).toMatch(/^cassandra:5\.0/);
    expect(portsOf(services['kafka']!)).toContain('127.0.0.1:9092->9092');
    expect(portsOf(services['cassandra']!)).toContain('127.0.0.1:9042->9042');
    expect(services['kafka']!.healthcheck).toBeDefined();
    expect(services['cassandra']!.healthcheck).toBeDefined();
    expect(services['kafka']!.environment?.['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
  });

  it('runs the Kafka MICROBATCH_KAFKA_VERSION names, as native mode does', () => {
    const pinned = readPinnedVersions(layout(projectRoot()).pomFile);
    expect(resolved().services['kafka']!.image).toBe(`apache/kafka:${pinned.kafka}`);
    expect(resolved(pinned.kafkaAlsoTested).services['kafka']!.image).toBe(
      `apache/kafka:${pinned.kafkaAlsoTested}`,
    );
  });

  it('gives each Kafka version a data volume of its own, as native mode gives each release line a log dir', () => {
    // A 4.x broker upgrades the storage of a 3.9 one it starts on: sharing a volume, 3.9 could not start again.
    const pinned = readPinnedVersions(layout(projectRoot()).pomFile);
    const volumeOf = (version?: string) => resolved(version).volumes['kafka-data']?.name;
    expect(volumeOf()).toBe(`microbatch-kafka-data-${pinned.kafka}`);
    expect(volumeOf(pinned.kafkaAlsoTested)).toBe(`microbatch-kafka-data-${pinned.kafkaAlsoTested}`);
  });
});
