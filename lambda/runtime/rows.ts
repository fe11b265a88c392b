/**
 * A transform job's rows, checked against their table before anything is written, so that a job's mistake shows
 * up in its own unit tests (the in-memory store runs the same check) instead of only on Cassandra or Keyspaces.
 *
 * The JavaScript value each column type takes (what cassandra-driver encodes with `useBigIntAsLong`):
 * - `text`: a string;
 * - `int`: an integer number from -2^31 to 2^31 - 1 (the driver would silently truncate 1.5);
 * - `bigint`: a bigint, or a number that is a safe integer (converted here: the driver refuses numbers);
 * - `double`: a number;
 * - `timestamp`: a valid Date, or integer epoch milliseconds;
 * - `boolean`: a boolean (the driver would write the string 'false' as true);
 * - `null` or left out: no value, for a column that is not part of the primary key.
 *
 * A value of the wrong type is the record's problem (its data usually decides it): the record is dead-lettered
 * ('schema') with the table, the column and the value. A row for a table the job does not declare, or with a
 * column its table does not have, is the job's: the batch fails with a `JobError` naming the fix.
 */
import type { CqlType, TableDef } from '../../schema';
import { MicroBatchError, RecordError } from './errors';
import type { Row, TransformJob } from './job';

/** A job's code wrote something its definition does not allow; every record would fail the same way. */
export class JobError extends MicroBatchError {
  readonly retriable = false;
}

const INT32 = 2 ** 31;
const INT64 = 2n ** 63n;

/** Each type's check: the value to write, or `undefined` when the value is not one of the type's. */
const ACCEPT: Record<CqlType, (value: unknown) => unknown> = {
  text: (v) => (typeof v === 'string' ? v : undefined),
  int: (v) => (Number.isInteger(v) && (v as number) >= -INT32 && (v as number) < INT32 ? v : undefined),
  bigint: (v) =>
    typeof v === 'bigint'
      ? v >= -INT64 && v < INT64
        ? v
        : undefined
      : Number.isSafeInteger(v)
        ? BigInt(v as number)
        : undefined,
  double: (v) => (typeof v === 'number' ? v : undefined),
  timestamp: (v) =>
    (v instanceof Date && !Number.isNaN(v.getTime())) || Number.isSafeInteger(v) ? v : undefined,
  boolean: (v) => (typeof v === 'boolean' ? v : undefined),
};

const EXPECTED: Record<CqlType, string> = {
  text: 'a string',
  int: 'an integer from -2147483648 to 2147483647',
  bigint: 'a bigint, or a number that is a safe integer',
  double: 'a number',
  timestamp: 'a valid Date, or integer epoch milliseconds',
  boolean: 'true or false',
};

interface ColumnCheck {
  readonly name: string;
  readonly type: CqlType;
  readonly key: boolean;
  readonly accept: (value: unknown) => unknown;
}

const checks = new WeakMap<
  TableDef,
  { readonly columns: readonly ColumnCheck[]; readonly names: ReadonlySet<string> }
>();

function checkOf(table: TableDef) {
  let check = checks.get(table);
  if (!check) {
    const keys = new Set([...table.partitionKey, ...table.clustering.map((c) => c.name)]);
    check = {
      columns: table.columns.map((c) => ({
        name: c.name,
        type: c.type,
        key: keys.has(c.name),
        accept: ACCEPT[c.type],
      })),
      names: new Set(table.columns.map((c) => c.name)),
    };
    checks.set(table, check);
  }
  return check;
}

function shown(value: unknown): string {
  if (typeof value === 'string')
    return `'${value.length > 60 ? `${value.slice(0, 60)}...` : value}' (a string)`;
  if (typeof value === 'bigint') return `${value}n (a bigint)`;
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'an invalid Date' : `${value.toISOString()} (a Date)`;
  if (value === null || value === undefined) return String(value);
  return `${typeof value === 'object' ? JSON.stringify(value)?.slice(0, 60) : String(value)} (${typeof value})`;
}

/** Throws the `JobError` of the first column of `row` its table does not have, if there is one. */
function refuseUnknownColumn(job: string, row: Row, names: ReadonlySet<string>): void {
  const unknown = Object.keys(row.values).find((name) => !names.has(name));
  if (unknown === undefined) return;
  throw new JobError(
    `Job '${job}' wrote column '${unknown}' to table '${row.table.name}', which has no such column ` +
      `(its columns: ${[...names].join(', ')}): fix the name in the job's transform.`,
  );
}

/**
 * `row` as it can be written: the job declares its table, every column is one of the table's, every key column
 * has a value, and every value is of its column's type (numbers for `bigint` columns become bigints).
 */
export function checkedRow(job: Pick<TransformJob<unknown>, 'name' | 'sinkTables'>, row: Row): Row {
  const table = row.table;
  // By name too: a job may hand its rows a copy of a declared TableDef.
  if (!job.sinkTables.includes(table) && !job.sinkTables.some((t) => t.name === table?.name)) {
    throw new JobError(
      `Job '${job.name}' returned a row for table '${table?.name}', which is not one of its sinkTables ` +
        `(${job.sinkTables.map((t) => t.name).join(', ')}): add the table to sinkTables, or return rows for those only.`,
    );
  }
  const { columns, names } = checkOf(table);
  let values: Record<string, unknown> | undefined;
  // Counting the row's keys against the columns it filled costs no allocation on the path every row takes;
  // only a row with a key no column filled is searched for an unknown name.
  let filled = 0;
  for (const column of columns) {
    const value = row.values[column.name];
    if (value === undefined || value === null) {
      if (value === null) filled++;
      if (column.key) {
        // A misspelt key column is the job's mistake, not every record's.
        refuseUnknownColumn(job.name, row, names);
        throw new RecordError(
          'schema',
          `Table '${table.name}', key column '${column.name}': the job gave it no value (${String(value)}); every key column needs one.`,
        );
      }
      continue;
    }
    filled++;
    const accepted = column.accept(value);
    if (accepted === undefined) {
      throw new RecordError(
        'schema',
        `Table '${table.name}', column '${column.name}' (${column.type}): expected ${EXPECTED[column.type]}, received ${shown(value)}.`,
      );
    }
    if (accepted !== value) (values ??= { ...row.values })[column.name] = accepted;
  }
  let given = 0;
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- counting the keys only
  for (const _ in row.values) given++;
  if (given !== filled) refuseUnknownColumn(job.name, row, names);
  return values ? { table, values } : row;
}
