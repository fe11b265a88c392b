import { CQL_TYPES, MAX_TTL_SECONDS, regularColumns, type TableDef } from './tables';

/**
 * Renders the CQL DDL of the typed schema. Apache Cassandra and Keyspaces differ in two places:
 * - Keyspaces needs `custom_properties` to turn TTL on for a table with a default TTL, and ignores the
 *   replication strategy;
 * - a local single node needs SimpleStrategy with replication factor 1.
 */
export type CqlTarget = 'cassandra' | 'keyspaces';

export interface RenderOptions {
  readonly target: CqlTarget;
  /** TTL override in seconds; defaults to the table's own `defaultTtlSeconds`. */
  readonly ttlSeconds?: number;
}

/** Keyspace and table names must be plain identifiers: we never quote user input into DDL. */
const IDENTIFIER = /^[a-zA-Z][a-zA-Z0-9_]{0,47}$/;

/**
 * CQL's reserved words, which a keyspace or table name cannot be unquoted (Cassandra's list, with the few
 * older drivers' lists add): https://docs.datastax.com/en/cql/cassandra/reference/cql-keywords.html
 */
const RESERVED_WORDS = new Set(
  (
    'add allow alter and apply asc authorize batch begin by columnfamily create default delete desc describe ' +
    'drop entries execute for from full grant if in index infinity insert into is keyspace keyspaces limit ' +
    'materialized mbean mbeans modify nan norecursive not null of on or order primary rename replace revoke ' +
    'schema select set table to token truncate unlogged unset update use using view where with'
  ).split(' '),
);

/** A CQL reserved word, in any case (CQL folds unquoted names to lower case). */
export function isReservedWord(name: string): boolean {
  return RESERVED_WORDS.has(name.toLowerCase());
}

export function assertIdentifier(kind: string, value: string): void {
  if (!IDENTIFIER.test(value)) {
    throw new Error(
      `Invalid ${kind} '${value}': use a letter followed by up to 47 letters, digits or underscores ` +
        `(the rule Cassandra and Keyspaces share).`,
    );
  }
  if (isReservedWord(value)) {
    throw new Error(`Invalid ${kind} '${value}': it is a CQL reserved word; pick another name.`);
  }
}

/**
 * What is wrong with a table definition, one sentence each; empty when nothing is. Checked when a job is
 * defined, so that a mistake names its job instead of failing synth with a stack trace, or deploy.
 */
export function tableDefProblems(table: TableDef): string[] {
  const problems: string[] = [];
  if (typeof table.name !== 'string' || !IDENTIFIER.test(table.name))
    problems.push(
      `its name '${table.name}' is not a letter followed by up to 47 letters, digits or underscores`,
    );
  else if (isReservedWord(table.name))
    problems.push(`its name '${table.name}' is a CQL reserved word, which no statement can name unquoted`);
  if (!table.columns?.length) problems.push('it has no columns');
  const seen = new Set<string>();
  for (const c of table.columns ?? []) {
    if (!IDENTIFIER.test(c.name))
      problems.push(`column '${c.name}' is not a letter followed by up to 47 letters, digits or underscores`);
    if (seen.has(c.name)) problems.push(`column '${c.name}' is defined twice`);
    seen.add(c.name);
    if (!(CQL_TYPES as readonly string[]).includes(c.type))
      problems.push(`column '${c.name}' has type '${c.type}': expected one of ${CQL_TYPES.join(', ')}`);
  }
  if (!table.partitionKey?.length) problems.push('its partitionKey is empty: name at least one column');
  const keys = [...(table.partitionKey ?? []), ...(table.clustering ?? []).map((c) => c.name)];
  for (const name of new Set(keys)) {
    if (!seen.has(name)) problems.push(`key column '${name}' is not one of its columns`);
    if (keys.indexOf(name) !== keys.lastIndexOf(name))
      problems.push(`key column '${name}' is named twice in its key`);
  }
  if (
    !Number.isInteger(table.defaultTtlSeconds) ||
    table.defaultTtlSeconds < 0 ||
    table.defaultTtlSeconds > MAX_TTL_SECONDS
  )
    problems.push(
      `defaultTtlSeconds is ${table.defaultTtlSeconds}: expected an integer from 0 to ${MAX_TTL_SECONDS}`,
    );
  return problems;
}

/**
 * Quotes a column name. The schema avoids reserved words (no `count`, `partition`, `offset`), and quoting all
 * lower-case names changes nothing, so a future column named after a keyword cannot break a statement.
 */
export function col(name: string): string {
  return `"${name}"`;
}

export function qualified(keyspace: string, table: TableDef | string): string {
  const name = typeof table === 'string' ? table : table.name;
  assertIdentifier('keyspace', keyspace);
  assertIdentifier('table', name);
  return `${keyspace}.${name}`;
}

export function renderCreateKeyspace(keyspace: string, target: CqlTarget): string {
  assertIdentifier('keyspace', keyspace);
  // Keyspaces always replicates across three AZs; it accepts SingleRegionStrategy only.
  const replication =
    target === 'keyspaces'
      ? "{'class': 'SingleRegionStrategy'}"
      : "{'class': 'SimpleStrategy', 'replication_factor': 1}";
  return `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${replication}`;
}

export function renderCreateTable(keyspace: string, table: TableDef, options: RenderOptions): string {
  const columns = table.columns.map((c) => `  ${col(c.name)} ${c.type}`);
  const partition = table.partitionKey.map(col).join(', ');
  const clustering = table.clustering.map((c) => col(c.name));
  const primaryKey = `  PRIMARY KEY ((${partition})${clustering.length ? ', ' + clustering.join(', ') : ''})`;
  const withClauses: string[] = [];
  if (table.clustering.length) {
    withClauses.push(
      `CLUSTERING ORDER BY (${table.clustering.map((c) => `${col(c.name)} ${c.order}`).join(', ')})`,
    );
  }
  const ttl = options.ttlSeconds ?? table.defaultTtlSeconds;
  if (ttl > 0) withClauses.push(`default_time_to_live = ${ttl}`);
  if (options.target === 'keyspaces' && ttl > 0)
    withClauses.push("custom_properties = {'ttl': {'status': 'enabled'}}");
  return (
    `CREATE TABLE IF NOT EXISTS ${qualified(keyspace, table)} (\n${[...columns, primaryKey].join(',\n')}\n)` +
    (withClauses.length ? ` WITH ${withClauses.join(' AND ')}` : '')
  );
}

/** A prepared upsert of every column; `ifNotExists` makes it a compare-and-set that only creates. */
export function renderInsert(
  keyspace: string,
  table: TableDef,
  options: { ifNotExists?: boolean } = {},
): string {
  const names = table.columns.map((c) => col(c.name));
  return (
    `INSERT INTO ${qualified(keyspace, table)} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})` +
    (options.ifNotExists ? ' IF NOT EXISTS' : '')
  );
}

/**
 * A compare-and-set update of every regular column, by full primary key, applied only if `ifColumn` still
 * holds the expected value. Binds the regular columns, then the key columns, then the expected value.
 */
export function renderCompareAndSet(keyspace: string, table: TableDef, ifColumn: string): string {
  const keys = keyColumns(table);
  const sets = regularColumns(table).map((c) => `${col(c.name)} = ?`);
  return (
    `UPDATE ${qualified(keyspace, table)} SET ${sets.join(', ')} WHERE ${keys.map((k) => `${col(k)} = ?`).join(' AND ')} ` +
    `IF ${col(ifColumn)} = ?`
  );
}

/** The key columns, in primary-key order. */
export function keyColumns(table: TableDef): string[] {
  return [...table.partitionKey, ...table.clustering.map((c) => c.name)];
}

export { regularColumns };
