/**
 * page-views: a keyed running count per event-time window. Each record is a page view `{page, ts}`; the job
 * counts the views of each page per minute (by default), one window partial per Kafka partition, with a
 * watermark, like sensor-stats. Its whole definition is this file and its topic and table in the schema list.
 */
import { PAGE_VIEW_COUNTS, PAGE_VIEWS_TOPIC } from '../../schema';
import { option } from '../../config/jobs';
import { json, SchemaViolation } from '../runtime/decoders';
import { handlerFor } from '../runtime/handler';
import { defineJob, defineWindowJob } from '../runtime/job';
import {
  epochMs,
  EVENT_TIME_EXPECTED,
  MAX_EVENT_TIME_AHEAD_OPTION,
  maxEventTimeAhead,
  shownTs,
} from './shared/time-format';

export interface PageView {
  readonly page: string;
  readonly ts: number;
}

export function validatePageView(input: unknown): PageView {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new SchemaViolation('$', 'expected an object {page, ts}');
  const { page, ts } = input as Record<string, unknown>;
  if (typeof page !== 'string' || !page.startsWith('/') || page.length > 512)
    throw new SchemaViolation('$.page', 'expected a path starting with / of at most 512 characters');
  const time = epochMs(ts);
  if (time === undefined)
    throw new SchemaViolation('$.ts', `${EVENT_TIME_EXPECTED}, received ${shownTs(ts)}`);
  return { page, ts: time };
}

const PAGES = ['/', '/pricing', '/docs', '/docs/getting-started', '/blog', '/about'];

const pageViews = defineJob({
  name: 'page-views',
  doc: 'Views per page and event-time window: a keyed running count.',
  kind: 'window',
  topics: [PAGE_VIEWS_TOPIC],
  tables: [PAGE_VIEW_COUNTS],
  options: {
    windowSeconds: option.int({ default: 60, min: 1, max: 86_400, doc: 'Event-time window size' }),
    allowedLatenessSeconds: option.int({ default: 30, min: 0, max: 86_400, doc: 'Watermark delay' }),
    maxEventTimeAheadSeconds: MAX_EVENT_TIME_AHEAD_OPTION,
  },
  windowOf: ({ windowSeconds }) => ({ sizeMs: windowSeconds * 1000, slideMs: windowSeconds * 1000 }),
  create: (config) =>
    defineWindowJob({
      name: 'page-views',
      topics: [PAGE_VIEWS_TOPIC.name],
      decoder: json(validatePageView),
      table: PAGE_VIEW_COUNTS,
      window: { sizeMs: config.options.windowSeconds * 1000, slideMs: config.options.windowSeconds * 1000 },
      allowedLatenessMs: config.options.allowedLatenessSeconds * 1000,
      ...maxEventTimeAhead(config.options.maxEventTimeAheadSeconds),
      failOnDataLoss: config.failOnDataLoss,
      eventTime: (view) => view.ts,
      key: (view) => view.page,
      // A count: each view adds one.
      measure: () => 1,
    }),
  // Views of six pages, the front page most.
  sample: {
    ratePerSecond: 5,
    make: (seq, now) => {
      const page = PAGES[seq % 3 === 0 ? 0 : seq % PAGES.length]!;
      return { key: page, value: JSON.stringify({ page, ts: now.getTime() }) };
    },
  },
});

export default pageViews;
/** The Lambda entry point of the job. */
export const handler = handlerFor(pageViews);
