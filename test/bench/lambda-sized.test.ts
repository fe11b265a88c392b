import { describe, expect, it } from 'vitest';
import {
  lambdaHeapFlags,
  lambdaVariants,
  ownSemiSpaceMb,
  roundOrder,
  summariseRun,
  summariseVariants,
  type LambdaSizedRun,
} from '../../bench/lambda-sized';

describe('lambdaHeapFlags', () => {
  it("GIVEN a function's memory WHEN the Node.js runtime starts it THEN a tenth is new space, half of it a semi-space", () => {
    // The bootstrap's integer arithmetic: 512 / 10 = 51, 51 / 2 = 25, 512 - 51 = 461.
    expect(lambdaHeapFlags(512)).toEqual({ semiSpaceMb: 25, oldSpaceMb: 461 });
    expect(lambdaHeapFlags(1769)).toEqual({ semiSpaceMb: 88, oldSpaceMb: 1593 });
    expect(lambdaHeapFlags(128)).toEqual({ semiSpaceMb: 6, oldSpaceMb: 116 });
  });
});

describe('ownSemiSpaceMb', () => {
  it('GIVEN the flag in NODE_OPTIONS only THEN reads it there', () => {
    expect(ownSemiSpaceMb([], '--enable-source-maps --max-semi-space-size=64')).toBe(64);
  });

  it('GIVEN the flag on the command line too THEN the command line wins, as node applies them', () => {
    expect(ownSemiSpaceMb(['--max-semi-space-size=32'], '--max-semi-space-size=64')).toBe(32);
    expect(ownSemiSpaceMb(['--max_semi_space_size=8'], '')).toBe(8);
  });

  it('GIVEN no flag THEN says V8 chooses (null)', () => {
    expect(ownSemiSpaceMb(['--import', 'tsx'], '')).toBeNull();
  });
});

describe('lambdaVariants', () => {
  it("GIVEN memory sizes THEN one variant each with the runtime's flags, then this process's flags", () => {
    const variants = lambdaVariants([512, 1024], 64);
    expect(variants.map((v) => [v.label, v.memoryMb, v.semiSpaceMb, v.oldSpaceMb])).toEqual([
      ['512 MB', 512, 25, 461],
      ['1024 MB', 1024, 51, 922],
      ['pipeline phase flags', null, 64, null],
    ]);
  });
});

describe('summariseRun', () => {
  it("GIVEN a child's invocations THEN CPU per record is the median invocation's, GC pauses the measured total's", () => {
    const variant = { label: '512 MB', memoryMb: 512, semiSpaceMb: 25, oldSpaceMb: 461 };
    const run = summariseRun(
      variant,
      2,
      {
        // 1,000 records each: 20, 25 and 90 µs of CPU per record; the outlier does not move the median.
        invocations: [
          { cpuMicros: 20_000, ms: 30 },
          { cpuMicros: 90_000, ms: 100 },
          { cpuMicros: 25_000, ms: 35 },
        ],
        records: 1000,
        gcMs: 6,
        minorGcs: 4,
        majorGcs: 1,
        maxRssMb: 200,
        heapLimitMb: 557,
      },
      { checkpointed: 4000, sent: 4000 },
    );
    expect(run).toMatchObject({
      label: '512 MB',
      round: 2,
      invocations: 3,
      records: 1000,
      cpuMicrosPerRecord: 25,
      // 6 ms over 3,000 records.
      gcMicrosPerRecord: 2,
      invocationMs: 35,
      minorGcs: 4,
      majorGcs: 1,
      checkpointed: 4000,
      sent: 4000,
    });
  });
});

describe('roundOrder', () => {
  it('GIVEN three variants and three rounds THEN each round runs each once, starting one further each round', () => {
    expect(roundOrder(['a', 'b', 'c'], 3).map((r) => `${r.round}${r.variant}`)).toEqual([
      '0a',
      '0b',
      '0c',
      '1b',
      '1c',
      '1a',
      '2c',
      '2a',
      '2b',
    ]);
  });

  it('GIVEN one round THEN the variants in their order', () => {
    expect(roundOrder(['a', 'b'], 1).map((r) => r.variant)).toEqual(['a', 'b']);
  });
});

describe('summariseVariants', () => {
  const v512 = { label: '512 MB', memoryMb: 512, semiSpaceMb: 25, oldSpaceMb: 461 };
  const v1024 = { label: '1024 MB', memoryMb: 1024, semiSpaceMb: 51, oldSpaceMb: 922 };
  const run = (
    variant: typeof v512,
    round: number,
    cpu: number,
    gc: number,
    majorGcs: number,
  ): LambdaSizedRun => ({
    ...variant,
    round,
    records: 10_000,
    invocations: 10,
    cpuMicrosPerRecord: cpu,
    gcMicrosPerRecord: gc,
    minorGcs: 40,
    majorGcs,
    invocationMs: cpu * 10,
    maxRssMb: variant.memoryMb / 4 + round,
    heapLimitMb: variant.memoryMb + 50,
    checkpointed: 120_000,
    sent: 120_000,
  });

  it("GIVEN three rounds THEN each variant's medians, its spread, and the rounds it beat the first variant in", () => {
    // GIVEN 1024 MB below 512 MB in rounds 0 and 2 only, and one slow round for each
    const runs = [
      run(v512, 0, 22, 4, 5),
      run(v1024, 0, 19, 2, 1),
      run(v1024, 1, 24, 2.5, 1),
      run(v512, 1, 20, 3.5, 4),
      run(v512, 2, 21, 5, 5),
      run(v1024, 2, 18, 2, 2),
    ];
    // WHEN summarised
    const [first, second] = summariseVariants([v512, v1024], runs);
    // THEN the medians, not the runs' means
    expect(first).toMatchObject({
      label: '512 MB',
      rounds: 3,
      cpuMicrosPerRecord: 21,
      cpuMicrosPerRecordRange: [20, 22],
      gcMicrosPerRecord: 4,
      majorGcs: 5,
      invocationMs: 210,
      lowerThanFirst: 0,
      maxRssMb: 130,
      checkpointed: 360_000,
      sent: 360_000,
    });
    expect(second).toMatchObject({
      label: '1024 MB',
      rounds: 3,
      cpuMicrosPerRecord: 19,
      cpuMicrosPerRecordRange: [18, 24],
      gcMicrosPerRecord: 2,
      majorGcs: 1,
      lowerThanFirst: 2,
    });
  });
});
