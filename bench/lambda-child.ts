/**
 * One execution environment of a Lambda-sized run (bench/lambda-sized.ts starts it with the V8 flags the Lambda
 * Node.js runtime gives a function of the measured memory size). It requires the bundle `cdk deploy` uploads and
 * invokes its handler as the runtime does: each event arrives as the runtime API's JSON body and is parsed in the
 * function's process, so the parse is measured with the handler.
 *
 * Argument: the run as JSON (`LambdaChildArgs`). Writes its result (`LambdaChildResult`) as JSON to `resultFile`:
 * the handler logs to stdout, as it does in Lambda.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { Context } from 'aws-lambda';
import { toMskEvent, type KafkaRecord } from '../lambda/runtime/event';
import { localInvocationContext } from '../lambda/runtime/log';
import { SendClock } from '../local/producer';

export interface LambdaChildArgs {
  readonly bundle: string;
  /** As `AWS_LAMBDA_FUNCTION_NAME` gives it. */
  readonly functionName: string;
  readonly resultFile: string;
  readonly topic: string;
  readonly partitions: readonly number[];
  /** Records per invocation, spread over the partitions. */
  readonly records: number;
  /** Invocations measured, after `warmup` that are not (the first connects and the JIT compiles). */
  readonly invocations: number;
  readonly warmup: number;
  readonly payloadBytes: number;
  readonly memoryMb: number | null;
}

export interface LambdaChildResult {
  /** Per measured invocation: CPU of the whole process (all threads), µs, and wall time, ms. */
  readonly invocations: ReadonlyArray<{ readonly cpuMicros: number; readonly ms: number }>;
  readonly records: number;
  /** Garbage-collection pauses over the measured invocations (main thread), ms, and their count by kind. */
  readonly gcMs: number;
  readonly minorGcs: number;
  readonly majorGcs: number;
  readonly maxRssMb: number;
  readonly heapLimitMb: number;
}

/** The invocations' bodies, built before anything is measured: in Lambda the event source mapping builds them. */
function eventBodies(args: LambdaChildArgs): string[] {
  const clock = new SendClock();
  const next = new Map(args.partitions.map((p) => [p, 0n]));
  const bodies: string[] = [];
  for (let i = 0; i < args.warmup + args.invocations; i++) {
    const records: KafkaRecord[] = [];
    args.partitions.forEach((partition, index) => {
      const count =
        Math.floor(args.records / args.partitions.length) +
        (index < args.records % args.partitions.length ? 1 : 0);
      for (let r = 0; r < count; r++) {
        const offset = next.get(partition)!;
        next.set(partition, offset + 1n);
        records.push({
          topic: args.topic,
          partition,
          offset,
          timestamp: Date.now(),
          timestampType: 'CREATE_TIME',
          key: null,
          value: Buffer.from(clock.now().padEnd(args.payloadBytes, ' ')),
          headers: [],
        });
      }
    });
    const event = toMskEvent(records, {
      eventSourceArn:
        'arn:aws:kafka:us-east-1:000000000000:cluster/bench/00000000-0000-0000-0000-000000000000-1',
      bootstrapServers: 'b-1.bench.kafka.us-east-1.amazonaws.com:9098',
    });
    bodies.push(JSON.stringify(event));
  }
  return bodies;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as LambdaChildArgs;
  const { handler } = createRequire(__filename)(args.bundle) as {
    handler: (event: unknown, context: Context) => Promise<unknown>;
  };
  const bodies = eventBodies(args);

  let gcMs = 0;
  let minorGcs = 0;
  let majorGcs = 0;
  let measuring = false;
  const observer = new PerformanceObserver((list) => {
    if (!measuring) return;
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minorGcs++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  // GC entries are delivered after the fact: let those of the previous step arrive before switching.
  const flush = () => new Promise((resolve) => setTimeout(resolve, 50));

  const invocations: Array<{ cpuMicros: number; ms: number }> = [];
  let maxRss = 0;
  for (let i = 0; i < bodies.length; i++) {
    if (i === args.warmup) {
      await flush();
      measuring = true;
    }
    const cpu = process.cpuUsage();
    const started = performance.now();
    // The context the local runner passes, with the function's memory as Lambda reports it.
    const context = localInvocationContext(args.functionName, { memoryMb: args.memoryMb ?? 0 });
    await handler(JSON.parse(bodies[i]!), context);
    const used = process.cpuUsage(cpu);
    if (i >= args.warmup)
      invocations.push({ cpuMicros: used.user + used.system, ms: performance.now() - started });
    maxRss = Math.max(maxRss, process.memoryUsage.rss());
  }
  await flush();
  observer.disconnect();
  const { getHeapStatistics } = await import('node:v8');
  const result: LambdaChildResult = {
    invocations,
    records: args.records,
    gcMs,
    minorGcs,
    majorGcs,
    maxRssMb: Math.round(maxRss / 1048576),
    heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 1048576),
  };
  writeFileSync(args.resultFile, JSON.stringify(result));
  // The driver's connections would keep the process alive; Lambda freezes it instead.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `lambda-child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
