/**
 * The service manager's own command line (`microbatch up|down|status|reset` wraps the same functions):
 *
 *   npx tsx local/services/main.ts up|down|status|reset|fetch [--mode native|compose|external] [--all-tested]
 *
 * `fetch --all-tested` also fetches every Kafka version the tests run (local/maven/pom.xml).
 * MICROBATCH_KAFKA_VERSION selects the Kafka that `up` runs and `fetch` fetches.
 *
 * Exit code 0 on success, 2 on a bad command line, 1 on a failure with the error's message (which names the log
 * file) on stderr.
 */
import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { down, fetchArtifacts, reset, SERVICES_MODES, ServicesError, status, up } from './index';

const log = (line: string): void => void process.stderr.write(`[services] ${line}\n`);

export function createProgram(): Command {
  const program = new Command('services')
    .description('Start, stop and inspect the local Kafka and Cassandra.')
    .showSuggestionAfterError()
    .showHelpAfterError('(run with --help for the usage)')
    .exitOverride();
  const modeOption = () =>
    new Option(
      '--mode <mode>',
      'where the services run (default: MICROBATCH_SERVICES, else compose with a Docker engine, else native)',
    ).choices(SERVICES_MODES);

  program
    .command('up')
    .description('start Kafka and Cassandra (or reuse them), and print their endpoints as JSON')
    .addOption(modeOption())
    .action(async ({ mode }) => {
      const t0 = Date.now();
      const r = await up({ log, mode });
      log(
        `up (${r.mode}) in ${((Date.now() - t0) / 1000).toFixed(1)} s: started [${r.started.join(', ')}], reused [${r.reused.join(', ')}]`,
      );
      process.stdout.write(`${JSON.stringify(r.endpoints)}\n`);
    });
  program
    .command('down')
    .description('stop the services this project started')
    .addOption(modeOption())
    .action(async ({ mode }) => {
      const r = await down({ log, mode });
      log(`down: stopped [${r.stopped.join(', ')}], not running [${r.notRunning.join(', ')}]`);
    });
  program
    .command('reset')
    .description('stop the services and delete their data')
    .addOption(modeOption())
    .action(async ({ mode }) => {
      await reset({ log, mode });
    });
  program
    .command('status')
    .description('one line per service; exit 1 when one is not healthy')
    .addOption(modeOption())
    .action(async ({ mode }) => {
      const rows = await status({ log, mode });
      for (const r of rows) {
        process.stdout.write(
          `${r.service.padEnd(10)} ${r.mode.padEnd(8)} running=${String(r.running).padEnd(5)} healthy=${String(r.healthy).padEnd(5)} ` +
            `pid=${String(r.pid ?? '-').padEnd(7)} ${r.endpoint}  ${r.detail}\n`,
        );
      }
      if (!rows.every((r) => r.healthy)) process.exitCode = 1;
    });
  program
    .command('fetch')
    .description('fetch the Maven artifacts of the native services')
    .option('--all-tested', 'every Kafka version the tests run, not only the default')
    .action(async ({ allTested }) => {
      await fetchArtifacts({ log, allTested: Boolean(allTested) });
    });
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof ServicesError) {
      process.stderr.write(`${error.name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    },
  );
}
