/**
 * vitest globalSetup of the integration project: make sure Kafka and Cassandra are up
 * before any test file runs, and afterwards stop only what this run started (services
 * that were already running, e.g. from `npm run local:up`, are left alone).
 *
 * The mode is resolved as everywhere else (MICROBATCH_SERVICES, else compose with a
 * Docker engine, else native). Set MICROBATCH_SERVICES_KEEP=1 to leave services this run
 * started running, so that the next run does not pay their start-up again.
 */
import { down, type ServiceName, up, UpFailedError } from '../../local/services';

const log = (line: string): void => console.log(`[services] ${line}`);

export default async function servicesGlobalSetup(): Promise<() => Promise<void>> {
  let started: ServiceName[];
  const t0 = Date.now();
  try {
    const r = await up({ log });
    started = r.started;
    log(
      `ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${r.mode}): started [${r.started.join(', ')}], ` +
        `reused [${r.reused.join(', ')}]; Kafka ${r.endpoints.kafkaBrokers.join(',')}, ` +
        `Cassandra ${r.endpoints.cassandraContactPoints.join(',')} (${r.endpoints.cassandraLocalDataCenter})`,
    );
  } catch (err) {
    // Whatever did come up in this call would otherwise outlive the failed run.
    if (err instanceof UpFailedError && err.started.length > 0) {
      await down({ services: err.started, log }).catch((e: unknown) => log(`cleanup failed: ${String(e)}`));
    }
    throw err;
  }

  return async () => {
    if (started.length === 0) return;
    if (process.env.MICROBATCH_SERVICES_KEEP === '1') {
      log(`MICROBATCH_SERVICES_KEEP=1: leaving ${started.join(', ')} running`);
      return;
    }
    await down({ services: started, log });
  };
}
