import { ServicesSettingError } from './errors';

/** Where clients reach the services. */
export interface Endpoints {
  kafkaBrokers: string[];
  cassandraContactPoints: string[];
  cassandraLocalDataCenter: string;
}

/**
 * The addresses that native and compose mode serve on (see local/config/ and
 * docker-compose.yml). "datacenter1" is the DC that Cassandra's SimpleSnitch reports.
 */
export const DEFAULT_ENDPOINTS: Readonly<Endpoints> = Object.freeze({
  kafkaBrokers: ['localhost:9092'],
  cassandraContactPoints: ['127.0.0.1:9042'],
  cassandraLocalDataCenter: 'datacenter1',
});

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Endpoints from the environment, falling back to the defaults:
 * - `KAFKA_BROKERS`: comma-separated host:port list
 * - `CASSANDRA_CONTACT_POINTS`: comma-separated host or host:port list
 * - `CASSANDRA_LOCAL_DC`: the driver's local data center
 *
 * An empty variable counts as unset. A malformed entry throws ServicesSettingError naming the variable.
 */
export function resolveEndpoints(env: Env = process.env): Endpoints {
  return {
    kafkaBrokers: parseList(env, 'KAFKA_BROKERS', true) ?? [...DEFAULT_ENDPOINTS.kafkaBrokers],
    cassandraContactPoints: parseList(env, 'CASSANDRA_CONTACT_POINTS', false) ?? [
      ...DEFAULT_ENDPOINTS.cassandraContactPoints,
    ],
    cassandraLocalDataCenter: env.CASSANDRA_LOCAL_DC?.trim() || DEFAULT_ENDPOINTS.cassandraLocalDataCenter,
  };
}

function parseList(env: Env, name: string, portRequired: boolean): string[] | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const items = raw.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!item) {
      throw new ServicesSettingError(
        `${name}="${raw}" has an empty entry; give a comma-separated list such as "host1:9092,host2:9092".`,
      );
    }
    const m = /^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+)(?::(\d{1,5}))?$/.exec(item);
    const port = m?.[2] === undefined ? undefined : Number(m[2]);
    if (!m || (portRequired && port === undefined) || (port !== undefined && (port < 1 || port > 65535))) {
      throw new ServicesSettingError(
        `${name} entry "${item}" is not ${portRequired ? 'host:port' : 'host or host:port'} ` +
          `(e.g. "${portRequired ? 'localhost:9092' : '127.0.0.1:9042'}").`,
      );
    }
  }
  return items;
}

/** Which endpoint variables are set and differ from the defaults (used to catch conflicts with managed modes). */
export function overriddenEndpointVars(env: Env = process.env): string[] {
  const e = resolveEndpoints(env);
  const out: string[] = [];
  if (e.kafkaBrokers.join(',') !== DEFAULT_ENDPOINTS.kafkaBrokers.join(','))
    out.push(`KAFKA_BROKERS=${e.kafkaBrokers.join(',')}`);
  if (e.cassandraContactPoints.join(',') !== DEFAULT_ENDPOINTS.cassandraContactPoints.join(',')) {
    out.push(`CASSANDRA_CONTACT_POINTS=${e.cassandraContactPoints.join(',')}`);
  }
  if (e.cassandraLocalDataCenter !== DEFAULT_ENDPOINTS.cassandraLocalDataCenter) {
    out.push(`CASSANDRA_LOCAL_DC=${e.cassandraLocalDataCenter}`);
  }
  return out;
}
