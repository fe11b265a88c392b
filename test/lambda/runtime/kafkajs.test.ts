import { describe, expect, it } from 'vitest';
import { scheduleChecksOnlyWhenNeeded, type RequestQueueLike } from '../../../lambda/runtime/kafkajs';

/** A stand-in with kafkajs 2.2.4's fields: `scheduled` counts what its own scheduling would have done. */
function fakeQueue() {
  class Queue implements RequestQueueLike {
    pending: unknown[] = [];
    throttledUntil = -1;
    scheduled = 0;
    scheduleCheckPendingRequests(): void {
      this.scheduled++;
    }
  }
  return Queue;
}

describe('scheduleChecksOnlyWhenNeeded', () => {
  it('GIVEN nothing queued and no throttle THEN schedules no check (the 1 ms loop of kafkajs#1751)', () => {
    const Queue = fakeQueue();
    expect(scheduleChecksOnlyWhenNeeded(Queue)).toBe(true);
    const queue = new Queue();
    queue.scheduleCheckPendingRequests();
    expect(queue.scheduled).toBe(0);
  });

  it("GIVEN a queued request or a running throttle THEN kafkajs's own scheduling runs", () => {
    const Queue = fakeQueue();
    scheduleChecksOnlyWhenNeeded(Queue);
    const queued = new Queue();
    queued.pending.push({});
    queued.scheduleCheckPendingRequests();
    expect(queued.scheduled).toBe(1);

    const throttled = new Queue();
    throttled.throttledUntil = Date.now() + 60_000;
    throttled.scheduleCheckPendingRequests();
    expect(throttled.scheduled).toBe(1);
  });

  it('GIVEN a queue that is patched already, or is not shaped like kafkajs 2.2.4 THEN leaves it alone', () => {
    const Queue = fakeQueue();
    expect(scheduleChecksOnlyWhenNeeded(Queue)).toBe(true);
    expect(scheduleChecksOnlyWhenNeeded(Queue)).toBe(false);
    expect(scheduleChecksOnlyWhenNeeded({ prototype: {} as RequestQueueLike })).toBe(false);

    // Fields it does not know: kafkajs's own scheduling, as if unpatched.
    const Other = fakeQueue();
    scheduleChecksOnlyWhenNeeded(Other);
    const odd = new Other();
    (odd as { pending: unknown }).pending = undefined;
    odd.scheduleCheckPendingRequests();
    expect(odd.scheduled).toBe(1);
  });
});
