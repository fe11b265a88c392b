import { Kafka, logLevel } from '../../../lambda/runtime/kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaLevel, kafkaLogCreator } from '../../../lambda/runtime/kafka-log';
import { capturedLogger } from '../../support/logger';

describe('kafkaLevel', () => {
  // Lines kafkajs 2.2.4 writes while a consumer group rebalances (a runner restarted) or a broker restarts.
  it.each([
    [logLevel.ERROR, '[Runner] The group is rebalancing, re-joining', 'INFO'],
    [
      logLevel.ERROR,
      '[Connection] Response Heartbeat(key: 12, version: 3) The group is rebalancing, so a rejoin is needed',
      'INFO',
    ],
    [
      logLevel.ERROR,
      '[Connection] Response OffsetCommit(key: 8, version: 5) The coordinator is not aware of this member',
      'INFO',
    ],
    [
      logLevel.ERROR,
      '[Connection] Response OffsetCommit(key: 8, version: 5) Specified group generation id is not valid',
      'INFO',
    ],
    [
      logLevel.ERROR,
      '[Connection] Response JoinGroup(key: 11, version: 5) The group member needs to have a valid member id before actually entering a consumer group',
      'INFO',
    ],
    [
      logLevel.ERROR,
      '[Connection] Response Heartbeat(key: 12, version: 3) This is not the correct coordinator for this group',
      'WARN',
    ],
    [logLevel.ERROR, '[Connection] Connection error: connect ECONNREFUSED 127.0.0.1:9092', 'WARN'],
    [
      logLevel.ERROR,
      '[BrokerPool] Failed to connect to seed broker, trying another broker from the list: Connection timeout',
      'WARN',
    ],
    [logLevel.ERROR, '[Consumer] Crash: KafkaJSNonRetriableError: Invalid partition metadata', 'ERROR'],
    [logLevel.WARN, '[Consumer] Something new', 'WARN'],
    [logLevel.INFO, '[Consumer] Starting', 'INFO'],
    [logLevel.DEBUG, '[Connection] Request Metadata(key: 3, version: 6)', 'DEBUG'],
  ] as const)('level %s "%s" is %s', (level, text, expected) => {
    expect(kafkaLevel(level, text)).toBe(expected);
  });
});

describe('kafkaLogCreator', () => {
  it("writes a real kafkajs client's lines through the logger, a refused connection as WARN, never plain text", async () => {
    // GIVEN a kafkajs client with the project's log creator, pointed at a port where no broker listens
    const { logger, lines } = capturedLogger('microbatch-runner-test');
    const kafka = new Kafka({
      clientId: 'kafka-log-test',
      brokers: ['127.0.0.1:1'],
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(logger),
      retry: { retries: 0 },
      connectionTimeout: 500,
    });
    const admin = kafka.admin();
    // WHEN it fails to connect
    await expect(admin.connect()).rejects.toThrow();
    // THEN what kafkajs said came out as the logger's JSON, at WARN, with kafkajs's fields kept apart
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatchObject({
        level: 'WARN',
        service: 'microbatch-runner-test',
        message: expect.stringMatching(/^kafkajs /),
        kafkajs: expect.any(Object),
      });
    }
    expect(lines.some((l) => /ECONNREFUSED|Connection error/.test(JSON.stringify(l)))).toBe(true);
  });
});
