import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { captureStderr } from '../../support/stderr';
import { main } from '../../../local/chaos/main';
import { runChaos } from '../../../local/chaos/run';
import { HealthTimeoutError, UpFailedError } from '../../../local/services';

// The suite itself needs the services: here it fails as it does when they cannot be started or reached.
vi.mock('../../../local/chaos/run', async (original) => ({
  ...(await original<typeof import('../../../local/chaos/run')>()),
  runChaos: vi.fn(),
}));

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

describe('npm run chaos without its services', () => {
  it('says which service did not answer and exits 1, without a stack trace', async () => {
    // GIVEN services that do not come up, as `up` reports them
    vi.mocked(runChaos).mockRejectedValueOnce(
      new UpFailedError(
        [new HealthTimeoutError('kafka', '127.0.0.1:1', 30_000, undefined, new Error('ECONNREFUSED'))],
        [],
      ),
    );
    const printed: unknown[] = [];
    const spy = vi
      .spyOn(console, 'error')
      .mockImplementation((...args: unknown[]) => void printed.push(...args));
    onTestFinished(() => spy.mockRestore());

    // THEN the message alone, exit 1
    expect(await main(['--records', '10', '--faults', '1'])).toBe(1);
    expect(printed).toEqual([expect.stringMatching(/^kafka at 127\.0\.0\.1:1 was not healthy within 30 s/)]);
  });
});
