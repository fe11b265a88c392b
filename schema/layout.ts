/**
 * The layout of a table: what decides where a row is stored and how a partition is sorted, and so what no
 * statement can change once the table exists. Cassandra and Keyspaces cannot move a column into or out of the
 * primary key, reorder it, change a clustering order, or change a column's type (ALTER TABLE only adds and drops
 * regular columns), and `CREATE TABLE IF NOT EXISTS` leaves an existing table as it was. So a table created by an
 * older definition has to be compared with this one, role by role, before a job writes to it.
 *
 * The live layout is read from `system_schema.columns`, whose rows give each column's `kind` (`partition_key`,
 * `clustering`, `regular`, `static`), its `position` within its part of the key, its `clustering_order` (`asc`,
 * `desc`, `none`) and its CQL `type`. Keyspaces has the same table with the same columns
 * (https://docs.aws.amazon.com/keyspaces/latest/devguide/working-with-keyspaces.html), and cassandra-driver
 * builds its table metadata from exactly these four on both (`SchemaParserV2` in
 * `lib/metadata/schema-parser.js`).
 *
 * Plain data, like the rest of `schema/`: `local/setup.ts` compares a live table with `tableLayout(def)`, and the
 * CDK stack (`lib/keyspaces.ts`) builds each `AWS::Cassandra::Table` from the same `tableLayout(def)`, so local
 * and cloud tables have one layout.
 */
import { regularColumns, type TableDef } from './tables';

export interface ColumnLayout {
  readonly name: string;
  /** The CQL type, as `system_schema.columns` writes it (`text`, not its alias `varchar`). */
  readonly type: string;
}

export interface ClusteringLayout extends ColumnLayout {
  readonly order: 'ASC' | 'DESC';
}

export interface TableLayout {
  /** In order. */
  readonly partitionKey: readonly ColumnLayout[];
  /** In order, each with its clustering order. */
  readonly clustering: readonly ClusteringLayout[];
  /** The columns outside the primary key. */
  readonly regular: readonly ColumnLayout[];
}

/** The layout a table definition gives: every local and cloud table is created with it. */
export function tableLayout(table: TableDef): TableLayout {
  const typeOf = (name: string): string => {
    const column = table.columns.find((c) => c.name === name);
    if (!column)
      throw new Error(`Table '${table.name}' names key column '${name}', which it does not define.`);
    return column.type;
  };
  return {
    partitionKey: table.partitionKey.map((name) => ({ name, type: typeOf(name) })),
    clustering: table.clustering.map((c) => ({ name: c.name, type: typeOf(c.name), order: c.order })),
    regular: regularColumns(table).map((c) => ({ name: c.name, type: c.type })),
  };
}

/** One row of `system_schema.columns`, as the driver returns it. */
export interface LiveColumn {
  readonly column_name: string;
  readonly kind: string;
  readonly position: number;
  readonly clustering_order: string;
  readonly type: string;
}

/**
 * The layout of a live table, from its rows of `system_schema.columns`. A static column, which the pipeline never
 * creates, counts as a regular one.
 */
export function liveLayout(columns: readonly LiveColumn[]): TableLayout {
  const part = (kind: string) =>
    columns.filter((c) => c.kind.toLowerCase() === kind).sort((a, b) => a.position - b.position);
  return {
    partitionKey: part('partition_key').map((c) => ({ name: c.column_name, type: cqlType(c.type) })),
    clustering: part('clustering').map((c) => ({
      name: c.column_name,
      type: cqlType(c.type),
      order: c.clustering_order.toLowerCase() === 'desc' ? 'DESC' : 'ASC',
    })),
    regular: columns
      .filter((c) => !['partition_key', 'clustering'].includes(c.kind.toLowerCase()))
      .map((c) => ({ name: c.column_name, type: cqlType(c.type) })),
  };
}

/** `varchar` is CQL's alias of `text`; Cassandra writes `text` for both. */
function cqlType(type: string): string {
  const t = type.trim().toLowerCase();
  return t === 'varchar' ? 'text' : t;
}

/**
 * How the live table `found` differs from the layout `expected` in what no statement can change, one phrase each
 * ("its partition key is (url), where this version has (url, ts)"); empty when it does not. A regular column the
 * live table lacks is not a difference (`setup` adds it, ALTER TABLE ... ADD), nor is one it has beyond the
 * definition (no statement names it).
 */
export function layoutDrift(expected: TableLayout, found: TableLayout): string[] {
  const drift: string[] = [];
  const partition = (l: TableLayout) => `(${l.partitionKey.map((c) => c.name).join(', ')})`;
  if (partition(found) !== partition(expected))
    drift.push(`its partition key is ${partition(found)}, where this version has ${partition(expected)}`);
  const clustering = (l: TableLayout) =>
    l.clustering.length ? `(${l.clustering.map((c) => `${c.name} ${c.order}`).join(', ')})` : 'none';
  if (clustering(found) !== clustering(expected))
    drift.push(
      `its clustering columns are ${clustering(found)}, where this version has ${clustering(expected)}`,
    );
  const foundType = new Map(allColumns(found).map((c) => [c.name, c.type]));
  for (const column of allColumns(expected)) {
    const type = foundType.get(column.name);
    if (type !== undefined && type !== cqlType(column.type))
      drift.push(`column ${column.name} is ${type}, where this version has ${column.type}`);
  }
  return drift;
}

function allColumns(layout: TableLayout): ColumnLayout[] {
  return [...layout.partitionKey, ...layout.clustering, ...layout.regular];
}
