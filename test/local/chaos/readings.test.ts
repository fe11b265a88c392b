import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAN, LATE_BY_MS, reading, seqOf } from '../../../local/chaos/readings';
import { validateReading } from '../../../lambda/jobs/sensor-stats';
import { SchemaViolation } from '../../../lambda/runtime/decoders';
import { CHAOS_LATENESS_SECONDS } from '../../../local/chaos/job';

describe('the fault suite readings', () => {
  const sentAt = Date.UTC(2026, 10, 29, 12, 0, 0);
  const all = Array.from({ length: 5000 }, (_, seq) => reading(seq, sentAt + seq * 10));

  it('keeps every on-time reading within a few seconds of its send time, far inside the allowed lateness', () => {
    const onTime = all.filter((x) => x.kind === 'on-time');
    // Most readings are on time: an empty set would make the loop below check nothing.
    expect(onTime.length).toBeGreaterThan(4000);
    for (const r of onTime) {
      // Up to 2 s behind its send time, never ahead: the old check took any reading ahead of its send time.
      const behind = sentAt + r.seq * 10 - r.ts!;
      expect(behind, `reading ${r.seq}`).toBeGreaterThanOrEqual(0);
      expect(behind, `reading ${r.seq}`).toBeLessThan(2000);
    }
    expect(2000).toBeLessThan(CHAOS_LATENESS_SECONDS * 1000);
  });

  it('puts every late reading an hour behind, and none in the warm-up', () => {
    const late = all.filter((x) => x.kind === 'late');
    expect(late.length).toBeGreaterThan(40);
    for (const r of late) {
      expect(r.seq).toBeGreaterThanOrEqual(DEFAULT_PLAN.warmup);
      expect(sentAt + r.seq * 10 - r.ts!).toBe(LATE_BY_MS);
    }
  });

  it('makes malformed readings of both kinds the job refuses, and finds the seq in any payload', () => {
    const malformed = all.filter((x) => x.kind === 'malformed');
    const reasons = malformed.map((r) => {
      expect(seqOf(r.value)).toBe(r.seq);
      try {
        validateReading(JSON.parse(r.value));
        return 'applied';
      } catch (error) {
        return error instanceof SchemaViolation ? 'schema' : 'invalid-json';
      }
    });
    expect(new Set(reasons)).toEqual(new Set(['invalid-json', 'schema']));
    for (const r of all.filter((x) => x.kind !== 'malformed'))
      expect(() => validateReading(JSON.parse(r.value))).not.toThrow();
  });

  it('is the same data for the same seq, so a run can be reproduced', () => {
    expect(reading(1234, sentAt)).toEqual(reading(1234, sentAt));
  });

  it('measures integers, so window sums are exact in any folding order', () => {
    for (const r of all.filter((x) => x.kind !== 'malformed')) expect(Number.isInteger(r.measure)).toBe(true);
  });
});
