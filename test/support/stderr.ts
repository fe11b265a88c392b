/** What a test's code writes to stderr, kept instead of printed, for the length of the test. */
import { onTestFinished, vi } from 'vitest';

export function captureStderr(): { text(): string } {
  let text = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  onTestFinished(() => spy.mockRestore());
  return { text: () => text };
}
