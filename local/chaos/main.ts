/** `npm run chaos -- [--records N] [--faults N] [--rate N] [--keep]`: see run.ts. */
import { parseArgs } from 'node:util';
import { renderReport, runChaos, FAULT_KINDS } from './run';

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, received '${raw}'.`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string' },
      faults: { type: 'string' },
      rate: { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      `npm run chaos -- [--records N] [--faults N] [--rate N] [--keep]\n\n` +
        `Runs the fault suite against the local services: N records (default 10000), N faults (default ` +
        `${FAULT_KINDS.length}, one of each: ${FAULT_KINDS.join(', ')}), at N records/s (default: spread over the ` +
        'faults); --keep leaves the topic and keyspace for a look.',
    );
    return 0;
  }
  const report = await runChaos({
    records: positive('records', values.records, 10_000),
    faults: positive('faults', values.faults, FAULT_KINDS.length),
    rate: values.rate === undefined ? undefined : positive('rate', values.rate, 0),
    keep: values.keep,
  });
  console.log(renderReport(report));
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
