import { describe, expect, it } from 'vitest';
import { captureStderr } from '../../support/stderr';
import { main } from '../../../local/chaos/main';

describe('npm run chaos options', () => {
  it.each([
    [['--records', '0'], /'--records <n>' argument '0' is invalid\. expected an integer of at least 1/],
    [['--faults', 'many'], /'--faults <n>' argument 'many' is invalid/],
    [['--rate', '-1'], /'--rate <n>' argument '-1' is invalid\. expected a number greater than 0/],
    [['--record', '5'], /unknown option '--record'[\s\S]*Did you mean --records\?/],
  ])('%j: says what is wrong and exits 2 before anything starts', async (argv, message) => {
    const stderr = captureStderr();
    expect(await main(argv)).toBe(2);
    expect(stderr.text()).toMatch(message);
  });
});
