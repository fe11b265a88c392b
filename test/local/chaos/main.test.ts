import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../local/chaos/main';

describe('npm run chaos options', () => {
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
    [['--records', '0'], /'--records <n>' argument '0' is invalid\. expected an integer of at least 1/],
    [['--faults', 'many'], /'--faults <n>' argument 'many' is invalid/],
    [['--rate', '-1'], /'--rate <n>' argument '-1' is invalid\. expected a number greater than 0/],
    [['--record', '5'], /unknown option '--record'[\s\S]*Did you mean --records\?/],
  ])('%j: says what is wrong and exits 2 before anything starts', async (argv, message) => {
    expect(await main(argv)).toBe(2);
    expect(stderr).toMatch(message);
  });
});
