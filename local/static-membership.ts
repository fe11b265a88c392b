/**
 * Static group membership (KIP-345) for the local runner, so that a runner killed and restarted takes its
 * partitions back at once instead of waiting for the dead member's session to expire.
 *
 * A consumer that joins with a `group.instance.id` the group already knows replaces that member: the coordinator
 * hands it the partitions the old member had, without waiting for the old session and without a rebalance.
 * https://cwiki.apache.org/confluence/display/KAFKA/KIP-345%3A+Introduce+static+membership+protocol+to+reduce+consumer+rebalances
 *
 * Two parts:
 * - `claimInstanceSlot`: which id a runner uses. Ids are slots per consumer group, `<clientId>-<n>`, claimed with a
 *   file that holds the owner's pid. A runner takes the lowest slot whose owner is gone (a killed runner leaves its
 *   file behind, so its restart gets the same id back), and never one whose owner lives: two live members with one
 *   id would fence each other.
 * - `useStaticMembership`: kafkajs 2.2.4 implements the request versions that carry the id (JoinGroup v5, SyncGroup
 *   v3, Heartbeat v3, LeaveGroup v3) but its broker methods drop the argument. This wraps those four methods so
 *   that the requests of a registered client id carry its instance id; every other client is unchanged.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the slot files live by default: per machine, since pids are. */
export const DEFAULT_SLOT_DIR = join(tmpdir(), 'microbatch-runner-slots');

/** Slot files this process holds (so two runners of one process never share one). */
const held = new Set<string>();

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface InstanceSlot {
  readonly instanceId: string;
  /** Gives the slot back (after a graceful stop: the member has left the group). */
  release(): void;
}

/**
 * Claims the lowest free slot of `group` for this process. Free: no file, or a file whose owner is gone (or is
 * this process without holding it: a runner of this process that never released it).
 */
export function claimInstanceSlot(group: string, prefix: string, dir = DEFAULT_SLOT_DIR): InstanceSlot {
  const groupDir = join(dir, encodeURIComponent(group));
  mkdirSync(groupDir, { recursive: true });
  for (let slot = 0; slot < 1000; slot++) {
    const file = join(groupDir, String(slot));
    if (held.has(file)) continue;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(file, String(process.pid), { flag: 'wx' });
        held.add(file);
        return {
          instanceId: `${prefix}-${slot}`,
          release: () => {
            held.delete(file);
            rmSync(file, { force: true });
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        continue; // Gone meanwhile: try to create it again.
      }
      if (owner !== process.pid && alive(owner)) break;
      // A dead owner's file: move it aside (only one of two claimants can), then create ours.
      try {
        renameSync(file, `${file}.stale-${process.pid}`);
        rmSync(`${file}.stale-${process.pid}`, { force: true });
      } catch {
        // Another claimant moved it first.
      }
    }
  }
  throw new Error(
    `No free static-membership slot for group ${group} in ${groupDir}: remove stale files there.`,
  );
}

/** Client id -> group.instance.id, for the clients that use static membership. */
const instanceIds = new Map<string, string>();

interface BrokerLike {
  connectionPool?: { clientId?: string };
  lookupRequest: (apiKey: number, definition: unknown) => (args: Record<string, unknown>) => unknown;
}

let patched = false;

function patchBroker(): void {
  if (patched) return;
  patched = true;
  // kafkajs's own Broker class: the one its consumers use.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Broker = require('kafkajs/src/broker') as { prototype: Record<string, unknown> };
  for (const method of ['joinGroup', 'syncGroup', 'heartbeat', 'leaveGroup']) {
    const original = Broker.prototype[method] as (this: BrokerLike, args: unknown) => Promise<unknown>;
    Broker.prototype[method] = function (this: BrokerLike, args: unknown): Promise<unknown> {
      const groupInstanceId = instanceIds.get(this.connectionPool?.clientId ?? '');
      if (groupInstanceId === undefined) return original.call(this, args);
      // Each method looks its request up synchronously, first thing: the request it builds (and rebuilds, as
      // joinGroup does after MEMBER_ID_REQUIRED) carries the instance id. The versions that cannot carry it ignore it.
      const lookup = this.lookupRequest;
      this.lookupRequest = (apiKey, definition) => {
        const build = lookup.call(this, apiKey, definition);
        return (requestArgs) => build({ ...requestArgs, groupInstanceId });
      };
      try {
        return original.call(this, args);
      } finally {
        this.lookupRequest = lookup;
      }
    };
  }
}

/** Makes every consumer of kafkajs client `clientId` a static member with `instanceId`; returns the undo. */
export function useStaticMembership(clientId: string, instanceId: string): () => void {
  patchBroker();
  instanceIds.set(clientId, instanceId);
  return () => {
    if (instanceIds.get(clientId) === instanceId) instanceIds.delete(clientId);
  };
}
