/**
 * Lambda's event filtering for Kafka event sources, so that the local runner drops exactly the records the event
 * source mapping would. A filter is a pattern over the record's `value` (the only key MSK filters support): the
 * value as JSON when it parses as JSON, else as a string. A record passes when any filter matches it; with no
 * filters, every record passes. The event source never invokes the function for a filtered record, and its
 * offset is committed past it, so the checkpoint sees those offsets as a gap (see checkpoint.ts).
 *
 * The rule syntax is Lambda's: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html#filtering-syntax
 * and for Kafka: https://docs.aws.amazon.com/lambda/latest/dg/kafka-filtering.html
 */
import { TextDecoder } from 'node:util';
import type { KafkaRecord } from './event';

export type FilterPattern = Readonly<Record<string, unknown>>;

/** Lambda accepts up to 5 filters per event source mapping by default (a quota that can be raised to 10). */
export const MAX_FILTERS = 10;

export class FilterPatternError extends Error {
  override readonly name = 'FilterPatternError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`Invalid filter pattern at ${path}: ${problem}`);
  }
}

const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists'] as const;
const NUMERIC_OPS = ['=', '<', '<=', '>', '>='];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a Kafka filter pattern; throws `FilterPatternError` naming the path at fault. */
export function assertKafkaFilter(pattern: unknown, path = 'filter'): asserts pattern is FilterPattern {
  if (!isObject(pattern)) throw new FilterPatternError(path, 'expected an object such as {"value": {...}}');
  const keys = Object.keys(pattern);
  if (keys.length !== 1 || keys[0] !== 'value') {
    throw new FilterPatternError(
      path,
      `Kafka event sources filter on the "value" key only; received keys ${JSON.stringify(keys)}`,
    );
  }
  assertNode(pattern.value, `${path}.value`);
}

function assertNode(node: unknown, path: string): void {
  if (Array.isArray(node)) {
    if (!node.length) throw new FilterPatternError(path, 'a list of rules may not be empty');
    node.forEach((rule, i) => assertRule(rule, `${path}[${i}]`));
    return;
  }
  if (!isObject(node)) {
    throw new FilterPatternError(
      path,
      'expected a list of rules, e.g. ["a", {"prefix": "b"}], or an object of fields',
    );
  }
  for (const [key, child] of Object.entries(node)) assertNode(child, `${path}.${key}`);
}

function assertRule(rule: unknown, path: string): void {
  if (rule === null || ['string', 'number', 'boolean'].includes(typeof rule)) return;
  if (!isObject(rule) || Object.keys(rule).length !== 1) {
    throw new FilterPatternError(path, `expected a value or one operator of ${OPERATORS.join(', ')}`);
  }
  const [op, arg] = Object.entries(rule)[0]!;
  switch (op) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (typeof arg !== 'string') throw new FilterPatternError(`${path}.${op}`, 'expected a string');
      return;
    case 'exists':
      if (typeof arg !== 'boolean') throw new FilterPatternError(`${path}.exists`, 'expected true or false');
      return;
    case 'anything-but': {
      const values = Array.isArray(arg) ? arg : [arg];
      const ok =
        values.every((v) => ['string', 'number'].includes(typeof v)) || (isObject(arg) && 'prefix' in arg);
      if (!ok)
        throw new FilterPatternError(`${path}.anything-but`, 'expected strings, numbers, or {"prefix": ...}');
      return;
    }
    case 'numeric': {
      const ok =
        Array.isArray(arg) &&
        (arg.length === 2 || arg.length === 4) &&
        arg.every((v, i) => (i % 2 === 0 ? NUMERIC_OPS.includes(v as string) : typeof v === 'number'));
      if (!ok)
        throw new FilterPatternError(`${path}.numeric`, 'expected [op, number] or [op, number, op, number]');
      return;
    }
    default:
      throw new FilterPatternError(path, `unknown operator "${op}"; use one of ${OPERATORS.join(', ')}`);
  }
}

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
