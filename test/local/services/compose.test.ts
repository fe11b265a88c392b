import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readPinnedVersions } from '../../../local/services/config';
import { layout, projectRoot } from '../../../local/services/paths';

/**
 * Validates docker-compose.yml with Debian's docker-compose (1.29), which checks the file
 * against the Compose schema without needing a Docker engine. It is installed by
 * scripts/ensure-test-tools.sh; if it is missing this test fails rather than skips, so a
 * broken compose file can never pass unnoticed.
 */
const file = layout(projectRoot()).composeFile;

/** `docker-compose config`, with MICROBATCH_KAFKA_VERSION as given (unset: the default). */
function composeConfigWith(kafkaVersion: string | undefined, ...args: string[]): string {
  const env = { ...process.env };
  delete env.MICROBATCH_KAFKA_VERSION;
  if (kafkaVersion !== undefined) env.MICROBATCH_KAFKA_VERSION = kafkaVersion;
  const r = spawnSync('docker-compose', ['-f', file, 'config', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'docker-compose is not installed, so docker-compose.yml cannot be validated. ' +
        'Run `bash scripts/ensure-test-tools.sh` (it runs `apt-get install -y docker-compose`).',
    );
  }
  if (r.status !== 0)
    throw new Error(`docker-compose config ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const composeConfig = (...args: string[]): string => composeConfigWith(undefined, ...args);

// Each docker-compose call starts a Python program (1-2 s idle, several seconds on a loaded machine).
describe('docker-compose.yml', { timeout: 30_000 }, () => {
  it('is a valid Compose file', () => {
    expect(composeConfig('-q')).toBe('');
  });

  it('defines exactly the kafka and cassandra services, with named volumes', () => {
    expect(composeConfig('--services').trim().split('\n').sort()).toEqual(['cassandra', 'kafka']);
    expect(composeConfig('--volumes').trim().split('\n').sort()).toEqual(['cassandra-data', 'kafka-data']);
  });

  it('publishes the same loopback ports as native mode and has health checks', () => {
    const resolved = composeConfig();
    expect(resolved).toMatch(/image: apache\/kafka:4\.\d+\.\d+/);
    expect(resolved).toMatch(/image: cassandra:5\.0/);
    for (const port of [9092, 9042]) {
      expect(resolved).toContain(`- 127.0.0.1:${port}:${port}/tcp\n`);
    }
    expect(resolved.match(/healthcheck:/g)).toHaveLength(2);
    expect(resolved).toContain('KAFKA_PROCESS_ROLES: broker,controller');
  });

  it('runs the Kafka MICROBATCH_KAFKA_VERSION names, as native mode does', () => {
    const pinned = readPinnedVersions(layout(projectRoot()).pomFile);
    expect(composeConfig()).toContain(`image: apache/kafka:${pinned.kafka}\n`);
    expect(composeConfigWith(pinned.kafkaAlsoTested)).toContain(
      `image: apache/kafka:${pinned.kafkaAlsoTested}\n`,
    );
  });
});
