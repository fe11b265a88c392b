/**
 * Reads a child process's stdout as JSON lines, the way the fault suite and the bench talk to the runners they
 * start: a line split across chunks is joined first, and a line that is not JSON (a library printing) is skipped.
 */
import type { Readable } from 'node:stream';

export function onJsonLines(stream: Readable, onValue: (value: unknown) => void): void {
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue; // Not one of ours.
      }
      onValue(value);
    }
  });
}
