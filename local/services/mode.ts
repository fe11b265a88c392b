import { spawnSync } from 'node:child_process';
import { ServicesSettingError } from './errors';

/**
 * - native: Kafka and Cassandra as JVM processes of this machine (jars from Maven Central).
 * - compose: the same two services from docker-compose.yml, for machines with a Docker engine.
 * - external: someone else runs them; only health checks against the env endpoints.
 */
export type ServicesMode = 'native' | 'compose' | 'external';

export const SERVICES_MODES: readonly ServicesMode[] = ['native', 'compose', 'external'];

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `MICROBATCH_SERVICES` if set, else `compose` when a Docker engine answers, else `native`.
 * The probe is injectable so that tests do not depend on this machine's Docker.
 */
export function resolveMode(
  env: Env = process.env,
  dockerEngineUp: () => boolean = dockerEngineAvailable,
): ServicesMode {
  const raw = env.MICROBATCH_SERVICES?.trim();
  if (raw) {
    const mode = raw.toLowerCase();
    if (!isMode(mode)) {
      throw new ServicesSettingError(
        `MICROBATCH_SERVICES="${raw}" is not one of ${SERVICES_MODES.join(', ')}; unset it to choose automatically.`,
      );
    }
    return mode;
  }
  return dockerEngineUp() ? 'compose' : 'native';
}

function isMode(s: string): s is ServicesMode {
  return (SERVICES_MODES as readonly string[]).includes(s);
}

/**
 * True when `docker info` succeeds within a few seconds, i.e. a Docker engine answers
 * (a docker client alone, with no daemon behind it, fails at once).
 */
export function dockerEngineAvailable(timeoutMs = 3000): boolean {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    timeout: timeoutMs,
    stdio: 'ignore',
  });
  return r.error === undefined && r.status === 0;
}
