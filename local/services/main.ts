/**
 * Command line for the service manager (the project CLI may wrap it):
 *
 *   npx tsx local/services/main.ts up|down|status|reset|fetch [--mode native|compose|external] [--all-tested]
 *
 * `fetch --all-tested` also fetches every Kafka version the tests run (local/maven/pom.xml).
 * MICROBATCH_KAFKA_VERSION selects the Kafka that `up` runs and `fetch` fetches.
 *
 * Exit code 0 on success; on failure the error's message (which names the log file) on stderr.
 */
import {
  down,
  fetchArtifacts,
  reset,
  SERVICES_MODES,
  ServicesError,
  type ServicesMode,
  status,
  up,
} from './index';

const USAGE =
  'usage: tsx local/services/main.ts up|down|status|reset|fetch [--mode native|compose|external] [--all-tested]';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let mode: ServicesMode | undefined;
  let allTested = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--all-tested' && command === 'fetch') {
      allTested = true;
      continue;
    }
    const value =
      a === '--mode' ? rest[++i] : a?.startsWith('--mode=') ? a.slice('--mode='.length) : undefined;
    if (value === undefined || !(SERVICES_MODES as readonly string[]).includes(value)) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    mode = value as ServicesMode;
  }
  const log = (line: string): void => void process.stderr.write(`[services] ${line}\n`);
  const opts = { log, ...(mode ? { mode } : {}) };
  switch (command) {
    case 'up': {
      const t0 = Date.now();
      const r = await up(opts);
      log(
        `up (${r.mode}) in ${((Date.now() - t0) / 1000).toFixed(1)} s: started [${r.started.join(', ')}], reused [${r.reused.join(', ')}]`,
      );
      process.stdout.write(`${JSON.stringify(r.endpoints)}\n`);
      return 0;
    }
    case 'down': {
      const r = await down(opts);
      log(`down: stopped [${r.stopped.join(', ')}], not running [${r.notRunning.join(', ')}]`);
      return 0;
    }
    case 'reset': {
      await reset(opts);
      return 0;
    }
    case 'status': {
      const rows = await status(opts);
      for (const r of rows) {
        process.stdout.write(
          `${r.service.padEnd(10)} ${r.mode.padEnd(8)} running=${String(r.running).padEnd(5)} healthy=${String(r.healthy).padEnd(5)} ` +
            `pid=${String(r.pid ?? '-').padEnd(7)} ${r.endpoint}  ${r.detail}\n`,
        );
      }
      return rows.every((r) => r.healthy) ? 0 : 1;
    }
    case 'fetch': {
      await fetchArtifacts({ log, allTested });
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(err instanceof ServicesError ? `${err.name}: ${err.message}\n` : `${String(err)}\n`);
    process.exit(1);
  },
);
