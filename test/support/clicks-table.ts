import type { TableDef } from '../../schema';

/**
 * The README's clicks table ("Write your own job"): one partition per url, its clicks sorted newest first. The
 * schema tests change its layout one way at a time to show what setup calls drift.
 */
export const README_CLICKS: TableDef = {
  name: 'clicks',
  doc: 'One click per url and event time.',
  columns: [
    { name: 'url', type: 'text', doc: 'The page.' },
    { name: 'ts', type: 'bigint', doc: 'Event time, epoch ms.' },
    { name: 'seen_at', type: 'timestamp', doc: "The micro-batch's processing time." },
  ],
  partitionKey: ['url'],
  clustering: [{ name: 'ts', order: 'DESC' }],
  defaultTtlSeconds: 0,
};
