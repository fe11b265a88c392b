/**
 * The latency phase's producer, in a process of its own so that producing does not share the pipeline's event
 * loop (in the cloud the producer is another function). Arguments: one JSON object (see `ProduceChildArgs`).
 * Prints JSON lines on stdout: `{"sent": n}` now and then, and `{"done": true, "sent": n, "seconds": s}`.
 */
import { produce } from '../local/producer';

export interface ProduceChildArgs {
  readonly brokers: string[];
  readonly topic: string;
  readonly rate: number;
  readonly count: number;
  readonly payloadBytes: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as ProduceChildArgs;
  let last = 0;
  const result = await produce({
    brokers: args.brokers,
    mode: 'load',
    topic: args.topic,
    rate: args.rate,
    count: args.count,
    payloadBytes: args.payloadBytes,
    onProgress: (sent) => {
      if (Date.now() - last < 250) return;
      last = Date.now();
      process.stdout.write(`${JSON.stringify({ sent })}\n`);
    },
  });
  process.stdout.write(`${JSON.stringify({ done: true, sent: result.sent, seconds: result.seconds })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`produce-child: ${String(error)}\n`);
  process.exit(1);
});
