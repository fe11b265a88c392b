/** `npm run chaos -- [--records N] [--faults N] [--rate N] [--keep]`: see run.ts. */
import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { unreachableService } from '../cli';
import { integer, positiveNumber } from '../options';
import { ServicesError } from '../services';
import { FAULT_KINDS, renderReport, runChaos } from './run';

export function createProgram(): Command {
  return new Command('chaos')
    .description(
      'Runs the fault suite against the local services and checks every window and dead letter against an ' +
        'independent reference.',
    )
    .addOption(new Option('--records <n>', 'sensor readings to send').argParser(integer(1)).default(10_000))
    .addOption(
      new Option('--faults <n>', `faults to inject, in turn: ${FAULT_KINDS.join(', ')}`)
        .argParser(integer(1))
        .default(FAULT_KINDS.length),
    )
    .addOption(
      new Option('--rate <n>', 'readings a second (default: spread over the faults)').argParser(
        positiveNumber,
      ),
    )
    .option('--keep', 'leave the topic and keyspace for a look')
    .showHelpAfterError('(run with --help for the usage)')
    .exitOverride()
    .action(async (opts) => {
      const report = await runChaos({
        records: opts.records,
        faults: opts.faults,
        rate: opts.rate,
        keep: opts.keep,
      });
      console.log(renderReport(report));
      if (!report.ok) process.exitCode = 1;
    });
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    // Services that would not start or cannot be reached: their message says what to do, as microbatch's does,
    // where a stack trace would bury it.
    const known = error instanceof ServicesError ? error.message : unreachableService(error);
    if (known === undefined) throw error;
    console.error(known);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
