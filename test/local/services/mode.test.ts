import { describe, expect, it } from 'vitest';
import { ServicesSettingError } from '../../../local/services/errors';
import { dockerEngineAvailable, resolveMode } from '../../../local/services/mode';

const noProbe = (): boolean => {
  throw new Error('the Docker probe must not run when MICROBATCH_SERVICES is set');
};

describe('resolveMode', () => {
  it.each(['native', 'compose', 'external'] as const)(
    'takes MICROBATCH_SERVICES=%s as is, without probing Docker',
    (m) => {
      expect(resolveMode({ MICROBATCH_SERVICES: m }, noProbe)).toBe(m);
    },
  );

  it('ignores case and surrounding blanks', () => {
    expect(resolveMode({ MICROBATCH_SERVICES: ' Native ' }, noProbe)).toBe('native');
  });

  it('rejects an unknown mode and lists the valid ones', () => {
    const run = (): unknown => resolveMode({ MICROBATCH_SERVICES: 'docker' }, noProbe);
    expect(run).toThrow(ServicesSettingError);
    expect(run).toThrow('MICROBATCH_SERVICES="docker" is not one of native, compose, external');
  });

  it('picks compose when a Docker engine answers, native when not', () => {
    expect(resolveMode({}, () => true)).toBe('compose');
    expect(resolveMode({}, () => false)).toBe('native');
    expect(resolveMode({ MICROBATCH_SERVICES: '' }, () => false)).toBe('native');
  });
});

describe('dockerEngineAvailable', () => {
  it('answers within its time limit, even with no engine or no docker binary', () => {
    const t0 = Date.now();
    const answer = dockerEngineAvailable(2000);
    expect(typeof answer).toBe('boolean');
    expect(Date.now() - t0).toBeLessThan(4000);
  });
});
