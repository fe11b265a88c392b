/**
 * A Powertools logger whose lines the test reads back as parsed JSON. Powertools writes through a Console on
 * process.stdout and process.stderr (info and debug on stdout, warn and error on stderr), so the test spies on
 * both streams for the logger's lifetime and keeps only the lines that parse as JSON.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { onTestFinished, vi } from 'vitest';

export interface CapturedLogger {
  readonly logger: Logger;
  /** Every JSON line written so far, in order, with the stream it went to. */
  readonly lines: Array<Record<string, unknown> & { readonly stream: 'stdout' | 'stderr' }>;
}

export function capturedLogger(
  serviceName = 'microbatch-test',
  logLevel: 'DEBUG' | 'INFO' = 'INFO',
): CapturedLogger {
  const lines: CapturedLogger['lines'] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    const spy = vi.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
      for (const text of String(chunk).split('\n').filter(Boolean)) {
        try {
          lines.push({ ...(JSON.parse(text) as Record<string, unknown>), stream });
        } catch {
          // Not a log line (a test runner's own output): not ours to check.
        }
      }
      return true;
    });
    onTestFinished(() => spy.mockRestore());
  }
  return { logger: new Logger({ serviceName, logLevel }), lines };
}
