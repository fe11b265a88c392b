import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimInstanceSlot, useStaticMembership } from '../../local/static-membership';

const slotDir = (): string => mkdtempSync(join(tmpdir(), 'slots-'));

/** A pid that existed and is gone: a process that ran and exited. */
function deadPid(): number {
  const run = spawnSync(process.execPath, ['-e', '']);
  return run.pid!;
}

describe('claimInstanceSlot', () => {
  const held: Array<{ release(): void }> = [];
  afterEach(() => held.splice(0).forEach((s) => s.release()));

  it('GIVEN an empty group WHEN two runners of one process claim THEN they get slots 0 and 1', () => {
    const dir = slotDir();
    const a = claimInstanceSlot('g', 'runner', dir);
    const b = claimInstanceSlot('g', 'runner', dir);
    held.push(a, b);
    expect([a.instanceId, b.instanceId]).toEqual(['runner-0', 'runner-1']);
    expect(readFileSync(join(dir, 'g', '0'), 'utf8')).toBe(String(process.pid));
  });

  it('GIVEN a killed runner left its slot file WHEN a runner starts THEN it takes that slot back', () => {
    const dir = slotDir();
    claimInstanceSlot('g', 'runner', dir); // creates the group's folder; slot 0 is ours
    writeFileSync(join(dir, 'g', '1'), String(deadPid()));
    const slot = claimInstanceSlot('g', 'runner', dir);
    held.push(slot);
    expect(slot.instanceId).toBe('runner-1');
    expect(readFileSync(join(dir, 'g', '1'), 'utf8')).toBe(String(process.pid));
  });

  it('GIVEN a live process holds slot 0 WHEN a runner starts THEN it takes slot 1, never a live id', () => {
    const dir = slotDir();
    const first = claimInstanceSlot('g', 'runner', dir);
    first.release();
    // The parent of this test process is alive and is not this process.
    writeFileSync(join(dir, 'g', '0'), String(process.ppid));
    const slot = claimInstanceSlot('g', 'runner', dir);
    held.push(slot);
    expect(slot.instanceId).toBe('runner-1');
  });

  it('GIVEN a released slot WHEN a runner starts THEN it gets the slot again, and groups are separate', () => {
    const dir = slotDir();
    const a = claimInstanceSlot('g', 'runner', dir);
    a.release();
    const again = claimInstanceSlot('g', 'runner', dir);
    const other = claimInstanceSlot('other group/with slash', 'runner', dir);
    held.push(again, other);
    expect(again.instanceId).toBe('runner-0');
    expect(other.instanceId).toBe('runner-0');
  });
});

describe('useStaticMembership', () => {
  // kafkajs's Broker: the patch wraps its group methods, which build their request with `lookupRequest` and
  // send it with a private method; a stand-in for both shows what the request carries.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Broker = require('kafkajs/src/broker') as { prototype: Record<string | symbol, unknown> };
  const send = Object.getOwnPropertySymbols(Broker.prototype).find((s) => String(s).includes('sendRequest'))!;

  function broker(clientId: string): Record<string | symbol, unknown> {
    const b = Object.create(Broker.prototype) as Record<string | symbol, unknown>;
    b.connectionPool = { clientId };
    b.lookupRequest = () => (args: Record<string, unknown>) => args;
    b[send] = (request: unknown) => Promise.resolve(request);
    return b;
  }
  const call = (b: Record<string | symbol, unknown>, method: string): Promise<Record<string, unknown>> =>
    (b[method] as (args: object) => Promise<Record<string, unknown>>).call(b, {
      groupId: 'g',
      memberId: 'm',
      groupGenerationId: 1,
    });

  it('GIVEN a registered client WHEN it heartbeats or leaves THEN the request carries its instance id', async () => {
    const undo = useStaticMembership('client-a', 'runner-0');
    try {
      expect(await call(broker('client-a'), 'heartbeat')).toMatchObject({ groupInstanceId: 'runner-0' });
      expect(await call(broker('client-a'), 'leaveGroup')).toMatchObject({ groupInstanceId: 'runner-0' });
      // Another client of the same process stays a dynamic member.
      expect(await call(broker('client-b'), 'heartbeat')).not.toHaveProperty('groupInstanceId');
    } finally {
      undo();
    }
    expect(await call(broker('client-a'), 'heartbeat')).not.toHaveProperty('groupInstanceId');
  });

  it('GIVEN a patched call WHEN it returns THEN the broker builds its next requests without the id', async () => {
    const undo = useStaticMembership('client-c', 'runner-3');
    try {
      const b = broker('client-c');
      const lookup = b.lookupRequest;
      await call(b, 'heartbeat');
      expect(b.lookupRequest).toBe(lookup);
    } finally {
      undo();
    }
  });
});
