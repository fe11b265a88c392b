import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { layout, projectRoot } from '../../../local/services/paths';

/**
 * Validates docker-compose.yml with Debian's docker-compose (1.29), which checks the file
 * against the Compose schema without needing a Docker engine. It is installed by
 * scripts/ensure-test-tools.sh; if it is missing this test fails rather than skips, so a
 * broken compose file can never pass unnoticed.
 */
const file = layout(projectRoot()).composeFile;

function composeConfig(...args: string[]): string {
  const r = spawnSync('docker-compose', ['-f', file, 'config', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
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

// Each check starts docker-compose (Python); on two busy cores that alone can take seconds.
describe('docker-compose.yml', { timeout: 60_000 }, () => {
  it('is a valid Compose file', () => {
    expect(composeConfig('-q')).toBe('');
  });

  it('defines exactly the kafka and cassandra services, with named volumes', () => {
    expect(composeConfig('--services').trim().split('\n').sort()).toEqual(['cassandra', 'kafka']);
    expect(composeConfig('--volumes').trim().split('\n').sort()).toEqual(['cassandra-data', 'kafka-data']);
  });

  it('publishes the same loopback ports as native mode and has health checks', () => {
    const resolved = composeConfig();
    expect(resolved).toMatch(/image: apache\/kafka:3\.9\.\d+/);
    expect(resolved).toMatch(/image: cassandra:5\.0/);
    for (const port of [9092, 9042]) {
      expect(resolved).toContain(`- 127.0.0.1:${port}:${port}/tcp\n`);
    }
    expect(resolved.match(/healthcheck:/g)).toHaveLength(2);
    expect(resolved).toContain('KAFKA_PROCESS_ROLES: broker,controller');
  });
});
