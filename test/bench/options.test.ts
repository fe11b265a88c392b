import { describe, expect, it } from 'vitest';
import { BenchOptionError, parseOptions, type BenchOptions } from '../../bench/options';
import { FIXED_LATENCY } from '../../bench/report';

const parse = (...argv: string[]): BenchOptions => parseOptions(argv, '/repo') as BenchOptions;

describe('parseOptions', () => {
  it("GIVEN no options THEN measures both ceiling methods, issue 12's fixed latency and a static restart", () => {
    const o = parse();
    expect(o.ceilingLevels).toEqual([16, 32, 64, 128]);
    expect(o.ceilingBatchLevels).toEqual([2, 4, 8, 16, 32]);
    expect(o.ceilingBatchRows).toBe(30);
    // Each level writes the pipeline's rows, and each method's best level is run three times.
    expect(o.ceilingWritesPerLevel).toBe(o.count);
    expect(o.ceilingRepeats).toBe(3);
    expect(o.warmupSeconds).toEqual({ min: 20, max: 150 });
    expect(o.fixedLatency).toEqual(FIXED_LATENCY);
    expect(o.restartStatic).toBe(true);
    expect(o.pollers).toBeUndefined();
    expect(o.batchStatements).toBeUndefined();
  });

  it("GIVEN --function-node and --lambda-rounds THEN the functions' phases get that node and those rounds", () => {
    const o = parse('--function-node', '/opt/node24/bin/node', '--lambda-rounds', '5');
    expect(o.functionNode).toBe('/opt/node24/bin/node');
    expect(o.lambda.rounds).toBe(5);
    // Without them: the bench's own node, and three rounds (one in the smoke).
    expect(parse().functionNode).toBeUndefined();
    expect(parse().lambda.rounds).toBe(3);
    expect(parse('--smoke').lambda.rounds).toBe(1);
  });

  it('GIVEN --smoke THEN everything is small', () => {
    const o = parse('--smoke');
    expect(o.fixedLatency).toEqual({ rate: 500, windowSeconds: 1 });
    expect(o.warmupSeconds).toEqual({ min: 1, max: 3 });
    expect(o.ceilingBatchLevels).toEqual([4, 8]);
    expect(o.ceilingRepeats).toBe(2);
  });

  it('GIVEN the sink, runner and restart options THEN they are passed on', () => {
    const o = parse(
      '--pollers',
      '2',
      '--batch-statements',
      '10',
      '--batch-levels',
      '1, 3',
      '--warmup',
      '0,5',
      '--restart-dynamic',
      '--restart-session',
      '10000',
    );
    expect(o).toMatchObject({
      pollers: 2,
      batchStatements: 10,
      ceilingBatchLevels: [1, 3],
      warmupSeconds: { min: 0, max: 5 },
      restartStatic: false,
      restartSessionMs: 10_000,
    });
  });

  it('GIVEN a warm-up that is not MIN,MAX THEN names the option and the fix', () => {
    expect(() => parse('--warmup', '30')).toThrow(
      /--warmup takes MIN,MAX seconds with MIN <= MAX, received '30'/,
    );
    expect(() => parse('--warmup', '9,3')).toThrow(/--warmup takes MIN,MAX/);
  });

  it("GIVEN the pipeline skipped and the latency phases not THEN asks for the second phase's rate", () => {
    // Its rate is half the pipeline's measured throughput: without the pipeline it ran at 1,000/s, half a made-up
    // 2,000, and was judged against the target of half the pipeline's.
    expect(() => parse('--skip', 'pipeline')).toThrow(BenchOptionError);
    expect(() => parse('--skip', 'pipeline')).toThrow(
      /--skip pipeline leaves the second latency phase without its rate .*give --latency-rate N, or skip latency too/,
    );
    expect(parse('--skip', 'pipeline', '--latency-rate', '13500').latencyRate).toBe(13_500);
    expect(parse('--skip', 'pipeline,latency').skip).toEqual(['pipeline', 'latency']);
  });

  it('GIVEN restart among the skipped phases THEN it is accepted', () => {
    expect(parse('--skip', 'restart,handlers').skip).toEqual(['restart', 'handlers']);
  });

  it.each([
    [['--count', '0'], /option '--count <n>' argument '0' is invalid\. expected an integer of at least 1/],
    [['--batch-statements', '31'], /expected an integer from 1 to 30/],
    [['--levels', '16,x'], /'x': expected an integer of at least 1/],
    [['--skip', 'pipelin'], /'pipelin': expected one of cassandra, kafka, .* \(did you mean 'pipeline'\?\)/],
    [['--cont', '5'], /unknown option '--cont'[\s\S]*Did you mean --count\?/],
    [['extra'], /too many arguments/],
  ])('GIVEN %j THEN a BenchOptionError says what is wrong, before anything starts', (argv, message) => {
    expect(() => parse(...argv)).toThrow(BenchOptionError);
    expect(() => parse(...argv)).toThrow(message);
  });
});
