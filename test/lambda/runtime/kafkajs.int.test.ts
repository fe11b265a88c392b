import { afterAll, describe, expect, it } from 'vitest';
import { kafka, freshTopic } from '../../support/integration';

// kafkajs's internal queue, the module the project's kafkajs (lambda/runtime/kafkajs.ts) fixes.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as {
  prototype: { checkPendingRequests(): void };
};

describe("kafkajs's request queue, on the real broker", () => {
  const producer = kafka().producer();
  afterAll(() => producer.disconnect());

  it('GIVEN a producer that has sent and gone idle THEN its connections stop checking their queues', async () => {
    // GIVEN a producer's connections, each having answered requests
    const topic = await freshTopic(1);
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'one' }] });
    const check = RequestQueue.prototype.checkPendingRequests;
    let checks = 0;
    RequestQueue.prototype.checkPendingRequests = function counted(this: unknown) {
      checks++;
      check.call(this);
    };
    try {
      // WHEN it sits idle for a second
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      RequestQueue.prototype.checkPendingRequests = check;
    }
    // THEN nothing wakes it: unfixed, each connection checked its empty queue every millisecond (about 870 times a
    // second each, measured)
    expect(checks).toBeLessThan(20);
  });
});
