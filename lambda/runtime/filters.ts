/**
 * Lambda's event filtering for Kafka event sources, so that the local runner drops exactly the records the event
 * source mapping would. A record passes when any filter matches its `value` (as JSON when it parses as JSON, else
 * as text); with no filters, every record passes. The event source never invokes the function for a filtered
 * record, and its offset is committed past it, so the checkpoint sees those offsets as a gap (see checkpoint.ts).
 * The pattern syntax, and its validation, are in config/filters.ts.
 */
import { TextDecoder } from 'node:util';
import { isObject, type FilterPattern } from '../../config/filters';
import type { KafkaRecord } from './event';

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

/** One rule against one leaf value that exists. */
function ruleMatches(rule: unknown, value: unknown): boolean {
  if (!isObject(rule)) return rule === value;
  const [op, arg] = Object.entries(rule)[0]!;
  switch (op) {
    case 'prefix':
      return typeof value === 'string' && value.startsWith(arg as string);
    case 'suffix':
      return typeof value === 'string' && value.endsWith(arg as string);
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === (arg as string).toLowerCase();
    case 'exists':
      return arg === true;
    case 'anything-but':
      if (isObject(arg)) return typeof value === 'string' && !value.startsWith(arg.prefix as string);
      return !(Array.isArray(arg) ? arg : [arg]).includes(value);
    case 'numeric': {
      if (typeof value !== 'number') return false;
      const ops = arg as Array<string | number>;
      for (let i = 0; i < ops.length; i += 2)
        if (!compare(ops[i] as string, value, ops[i + 1] as number)) return false;
      return true;
    }
    default:
      return false;
  }
}

function nodeMatches(node: unknown, subject: unknown, present: boolean): boolean {
  if (Array.isArray(node)) {
    if (!present) return node.some((rule) => isObject(rule) && rule.exists === false);
    const values = Array.isArray(subject) ? subject : [subject];
    return node.some((rule) =>
      isObject(rule) && 'exists' in rule ? rule.exists === true : values.some((v) => ruleMatches(rule, v)),
    );
  }
  if (!isObject(subject)) return false;
  return Object.entries(node as Record<string, unknown>).every(([key, child]) =>
    nodeMatches(child, subject[key], key in subject),
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What a Kafka filter sees of a record: `{value}`, the value as JSON if it is JSON, else as text. */
export function filterSubject(record: KafkaRecord): Record<string, unknown> {
  if (record.value === null) return {};
  let text: string;
  try {
    text = utf8.decode(record.value);
  } catch {
    return {};
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { value: text };
  }
}

/** Whether the event source would deliver the record: no filters, or any filter matching. */
export function passesFilters(filters: readonly FilterPattern[], record: KafkaRecord): boolean {
  if (!filters.length) return true;
  const subject = filterSubject(record);
  return filters.some((f) => nodeMatches(f, subject, true));
}
