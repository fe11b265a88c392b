import { describe, expect, it } from 'vitest';
import { captureStderr } from '../../support/stderr';
import { main } from '../../../local/services/main';

describe("the services' own command line", () => {
  it.each([
    [['up', '--mode', 'foo'], /argument 'foo' is invalid\. Allowed choices are native, compose, external/],
    [['down', '--mode'], /option '--mode <mode>' argument missing/],
    [['status', '--json'], /unknown option '--json'/],
    [['fetch', '--mode', 'native'], /unknown option '--mode'/],
    [['stauts'], /unknown command 'stauts'[\s\S]*Did you mean status\?/],
    [[], /Usage: services \[options\] \[command\]/],
  ])('%j: says what is wrong and exits 2 before touching a service', async (argv, message) => {
    const stderr = captureStderr();
    expect(await main(argv)).toBe(2);
    expect(stderr.text()).toMatch(message);
  });
});
