/**
 * `microbatch ui`: the UI alone, against the local services or any reachable Kafka and Cassandra or Keyspaces,
 * so a cloud deployment can be watched from a laptop with the same page:
 *
 *   microbatch ui                                   # local Kafka and Cassandra
 *   microbatch ui --target keyspaces --region eu-west-1 --brokers b-1.x.kafka.eu-west-1.amazonaws.com:9098
 *
 * Keyspaces uses the project's client factory (TLS, SigV4 from the default credential chain); MSK uses IAM
 * auth over TLS, as the producer does. Without `--brokers` against Keyspaces, the UI shows no consumer lag.
 */
import type { Client } from 'cassandra-driver';
import { Kafka, logLevel } from '../../lambda/runtime/kafkajs';
import { createLogger } from '../../lambda/runtime/log';
import { createCassandraClient, type CassandraTarget } from '../../lambda/runtime/cassandra-client';
import { iamTokenProvider, mskKafkaConfig, parseBootstrapBrokers } from '../../lambda/runtime/msk-client';
import { resolveEndpoints } from '../services';
import { ensureSchema } from '../setup';
import { startUi, type RunningUi } from './index';
import { uiJobs } from './jobs';
import type { LocalProject } from '../app';

/** A bad option of `microbatch ui`; the CLI prints it with the usage. */
export class UiOptionError extends Error {
  override readonly name = 'UiOptionError';
}

/** The UI could not connect to its database; `cause` says why. */
export class UiConnectError extends Error {
  override readonly name = 'UiConnectError';
}

export const UI_USAGE =
  'microbatch ui [--target local|keyspaces] [--region R] [--brokers host:port,...] [--kafka-auth none|iam] ' +
  '[--port 4040] [--host 127.0.0.1] [-c key=value]...';

export const UI_OPTIONS = {
  target: { type: 'string' },
  region: { type: 'string' },
  brokers: { type: 'string' },
  'kafka-auth': { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
} as const;

export interface UiCommandDeps {
  /** @default - the project's client factory, lambda/runtime/cassandra-client.ts */
  readonly createClient?: (target: CassandraTarget) => Promise<Pick<Client, 'execute' | 'shutdown'>>;
  /** @default - process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default - JSON lines on stderr */
  readonly log?: (line: Record<string, unknown>) => void;
}

export interface ParsedUiOptions {
  readonly target: CassandraTarget;
  readonly brokers: string[] | null;
  readonly kafkaAuth: 'none' | 'iam';
  readonly port: number;
  readonly host: string;
}

export function parseUiOptions(
  values: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedUiOptions {
  const target = (values.target as string | undefined) ?? 'local';
  if (target !== 'local' && target !== 'keyspaces')
    throw new UiOptionError(`--target must be local or keyspaces; received '${target}'.`);
  const portText = (values.port as string | undefined) ?? '4040';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UiOptionError(`--port must be a port number from 0 to 65535; received '${portText}'.`);
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const auth = (values['kafka-auth'] as string | undefined) ?? (target === 'keyspaces' ? 'iam' : 'none');
  if (auth !== 'none' && auth !== 'iam')
    throw new UiOptionError(`--kafka-auth must be none or iam; received '${auth}'.`);
  const brokersText = values.brokers as string | undefined;
  let brokers: string[] | null;
  try {
    brokers = brokersText
      ? parseBootstrapBrokers(brokersText, '--brokers')
      : target === 'local'
        ? resolveEndpoints(env).kafkaBrokers
        : null;
  } catch (error) {
    throw new UiOptionError((error as Error).message);
  }
  if (target === 'local') {
    // Every option is checked before anything starts: one that only the cloud target reads is a mistake here.
    if (values.region !== undefined)
      throw new UiOptionError(
        `--region applies to --target keyspaces only; received it with --target local (the default). ` +
          'Add --target keyspaces to read a cloud deployment.',
      );
    const endpoints = resolveEndpoints(env);
    return {
      target: {
        kind: 'local',
        contactPoints: endpoints.cassandraContactPoints,
        localDataCenter: endpoints.cassandraLocalDataCenter,
      },
      brokers,
      kafkaAuth: auth,
      port,
      host,
    };
  }
  const region = (values.region as string | undefined) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    throw new UiOptionError(
      `--target keyspaces needs the AWS region of the keyspace: --region eu-west-1 (or AWS_REGION); received '${region ?? ''}'.`,
    );
  return { target: { kind: 'keyspaces', region }, brokers, kafkaAuth: auth, port, host };
}

export async function startUiCommand(
  values: Record<string, unknown>,
  project: LocalProject,
  deps: UiCommandDeps = {},
): Promise<RunningUi> {
  const { config, jobs } = project;
  const env = deps.env ?? process.env;
  const options = parseUiOptions(values, env);
  const client = (await (deps.createClient ?? createCassandraClient)(options.target).catch(
    (error: unknown) => {
      throw new UiConnectError(
        options.target.kind === 'local'
          ? `Cannot reach Cassandra at ${options.target.contactPoints.join(', ')}: start the services with ` +
              '`microbatch up`, or point CASSANDRA_CONTACT_POINTS at yours.'
          : `Cannot reach Amazon Keyspaces in ${options.target.region}: check the region, your AWS credentials ` +
              'and that port 9142 is reachable from here.',
        { cause: error },
      );
    },
  )) as Client;
  try {
    // Locally the UI may be the first thing started: its own table must exist. Keyspaces tables come from
    // the CDK stack (every table of the schema), never from here.
    if (options.target.kind === 'local') await ensureSchema(client, config, jobs);
    const kafka = options.brokers
      ? new Kafka(
          options.kafkaAuth === 'iam'
            ? mskKafkaConfig({
                brokers: options.brokers,
                clientId: 'microbatch-ui',
                // kafkajs's lines in the log shape of every other command (README, "Logs").
                logger: createLogger({ serviceName: 'microbatch-ui' }),
                tokenProvider: iamTokenProvider(
                  options.target.kind === 'keyspaces' ? options.target.region : (env.AWS_REGION ?? ''),
                ),
              })
            : { clientId: 'microbatch-ui', brokers: options.brokers, logLevel: logLevel.NOTHING },
        )
      : undefined;
    const ui = await startUi({
      client,
      keyspace: config.keyspace.name,
      kafka,
      jobs: () => uiJobs(jobs, config),
      port: options.port,
      host: options.host,
      log: deps.log,
    });
    return {
      ...ui,
      async close() {
        await ui.close();
        await client.shutdown();
      },
    };
  } catch (error) {
    await client.shutdown();
    throw error;
  }
}
