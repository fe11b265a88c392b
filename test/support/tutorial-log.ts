import type { KafkaRecord } from '../../lambda/runtime/event';
import { formatTime } from '../../lambda/jobs/shared/time-format';

/** When the tutorial's log starts: its record at offset `o` was sent `o` seconds later. */
export const TUTORIAL_T0 = Date.UTC(2026, 4, 21, 2, 20, 0);

/** Partition 0 of topic `test` as the tutorial's producer fills it: one send time a second from TUTORIAL_T0. */
export function tutorialLog(length: number): KafkaRecord[] {
  return Array.from({ length }, (_, o) => ({
    topic: 'test',
    partition: 0,
    offset: BigInt(o),
    timestamp: TUTORIAL_T0 + o * 1000,
    timestampType: 'CREATE_TIME',
    key: null,
    value: Buffer.from(formatTime(new Date(TUTORIAL_T0 + o * 1000), 'tutorial')),
    headers: [],
  }));
}
