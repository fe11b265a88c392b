import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../local/services/main';

describe("the services' own command line", () => {
  let stderr: string;
  beforeEach(() => {
    stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it.each([
    [['up', '--mode', 'foo'], /argument 'foo' is invalid\. Allowed choices are native, compose, external/],
    [['down', '--mode'], /option '--mode <mode>' argument missing/],
    [['status', '--json'], /unknown option '--json'/],
    [['fetch', '--mode', 'native'], /unknown option '--mode'/],
    [['stauts'], /unknown command 'stauts'[\s\S]*Did you mean status\?/],
    [[], /Usage: services \[options\] \[command\]/],
  ])('%j: says what is wrong and exits 2 before touching a service', async (argv, message) => {
    expect(await main(argv)).toBe(2);
    expect(stderr).toMatch(message);
  });
});
