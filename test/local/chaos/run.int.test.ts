/**
 * The fault suite, small: a few thousand records and one fault of each kind, against the real local services
 * (it kills and restarts their JVMs, and leaves them running). `npm run chaos -- --records 100000 --faults 18` is
 * the full run.
 */
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, renderReport, runChaos } from '../../../local/chaos/run';

describe('npm run chaos', () => {
  it(
    'survives one fault of each kind with every window exact, every dead letter once and no skipped range left',
    { timeout: 600_000 },
    async () => {
      const report = await runChaos({ records: 3000, faults: FAULT_KINDS.length, log: () => undefined });
      console.log(renderReport(report));

      expect(report.problems).toEqual([]);
      expect(report.faults.map((f) => f.kind)).toEqual([...FAULT_KINDS]);
      expect(report.lost).toBe(0);
      expect(report.duplicated).toBe(0);
      expect(report.windows.matching).toBe(report.windows.expected);
      expect(report.deadLetters).toMatchObject({ wrong: 0, found: report.deadLetters.expected });
      expect(report.deadLetters.expected).toBeGreaterThan(0);
      // The skip-batch fault made the event source give up on a batch; the redrive applied it.
      expect(report.skippedRanges.total).toBeGreaterThan(0);
      expect(report.skippedRanges.pending).toBe(0);
      expect(report.gracefulExitCodes.every((c) => c === 0)).toBe(true);
      expect(report.ok).toBe(true);
    },
  );
});
