/**
 * The syntax of Lambda's event filters for Kafka event sources, as the config accepts them
 * (`jobs.<job>.filters`): a pattern over the record's `value`, the only key MSK filters support. The matching
 * itself is in lambda/runtime/filters.ts (the local runner uses it; in the cloud the event source mapping filters).
 *
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html#filtering-syntax
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-filtering.html
 */

export type FilterPattern = Readonly<Record<string, unknown>>;

/**
 * Filters per event source mapping: Lambda's quota is 5 by default and can be raised to 10
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). The config allows the default
 * unless `quotas.filtersPerEventSourceMapping` says the account's quota was raised.
 */
export const DEFAULT_FILTERS_PER_EVENT_SOURCE = 5;
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

export const isObject = (v: unknown): v is Record<string, unknown> =>
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
