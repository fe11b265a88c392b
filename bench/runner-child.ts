/**
 * The restart phase's runner: the sent-received job exactly as `microbatch run` runs it (the event-source runner,
 * the local runtime, `runMicroBatch`), in a process of its own so that the bench can SIGKILL it. Argument: one JSON
 * object (`RunnerChildArgs`). Prints one JSON line per event on stdout, each with `at` (epoch ms): `started` (the
 * process is up, before joining), `joined` (the consumer is in the group), `fetched` (records arrived from Kafka),
 * `batch` (a batch committed).
 */
import { openLocalRuntime } from '../local/app';
import { EventSourceRunner } from '../local/runner';
import type { Endpoints } from '../local/services';
import { createSentReceivedJob } from '../lambda/jobs/sent-received';
import { createLogger } from '../lambda/runtime/log';
import type { EventSourceConfig } from '../config';

export interface RunnerChildArgs {
  readonly endpoints: Endpoints;
  readonly keyspace: string;
  readonly topic: string;
  readonly source: EventSourceConfig;
  readonly onFailureDir: string;
  readonly staticMembership: boolean;
  /** @default - the runner's default */
  readonly sessionTimeoutMs?: number;
}

const print = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ at: Date.now(), ...line })}\n`);
};

async function main(): Promise<void> {
  print({ event: 'started' });
  const args = JSON.parse(process.argv[2] ?? '{}') as RunnerChildArgs;
  const runtime = await openLocalRuntime(args.endpoints, args.keyspace);
  const job = createSentReceivedJob({ timeFormat: 'iso', failOnDataLoss: false }, { topics: [args.topic] });
  const invoke = runtime.invoker(job, {
    logger: createLogger({ serviceName: 'bench-runner', logLevel: 'SILENT' }),
  });
  let fetched = false;
  const runner = new EventSourceRunner({
    jobName: job.name,
    topics: [args.topic],
    source: args.source,
    brokers: args.endpoints.kafkaBrokers,
    onFailureDir: args.onFailureDir,
    log: () => undefined,
    ...(args.staticMembership ? {} : { staticMembership: false as const }),
    ...(args.sessionTimeoutMs ? { sessionTimeoutMs: args.sessionTimeoutMs } : {}),
    observer: {
      fetched: () => {
        if (fetched) return;
        fetched = true;
        print({ event: 'fetched' });
      },
    },
    invoke: async (event, context) => {
      const report = await invoke(event, context);
      print({ event: 'batch', records: report.recordsIn });
      return report;
    },
  });
  const stop = (): void => void runner.stop();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await runner.start();
  print({ event: 'joined' });
  await runner.stopped;
  await runtime.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `runner-child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
