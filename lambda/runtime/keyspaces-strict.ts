/**
 * The Keyspaces-strict mode of the local client: every statement the code sends to the local Apache Cassandra
 * is first checked against the documented functional differences of Amazon Keyspaces, and one that Keyspaces
 * would refuse fails here, with an error that names the difference and links the page that documents it.
 *
 * Apache Cassandra accepts all of these statements, so without this mode a statement that can never work in
 * the cloud passes every local test (an earlier design wrote `USING TIMESTAMP <offset>`: every local test
 * passed, every cloud write would have failed). The table of differences, how each is enforced and the test
 * that proves it, is docs/keyspaces.md.
 *
 * The checks are pure functions of the statement, its options, its values and the table's metadata
 * (`checkStatement`, `checkBatch`); `KeyspacesStrictClient` runs them on every `execute`, `eachRow`, `stream`
 * and `batch` (prepared or not), through the two methods all four go through in cassandra-driver 4.10.
 */
import type { ClientOptions } from 'cassandra-driver';
import { Client, types } from './cassandra-driver';
import { parseStatement, type ParsedStatement, type ValueSource } from './cql-statement';

const GUIDE = 'https://docs.aws.amazon.com/keyspaces/latest/devguide';

/** One documented difference: what Keyspaces does, in the guide's words, and where it says so. */
export interface KeyspacesDifference {
  readonly id: DifferenceId;
  readonly title: string;
  readonly doc: string;
  /** The guide's sentence the check rests on. */
  readonly quote: string;
}

export const DIFFERENCES = {
  'read-consistency': {
    title: 'reads run at ONE, LOCAL_ONE or LOCAL_QUORUM only',
    doc: `${GUIDE}/consistency.html#ReadConsistency`,
    quote: 'Amazon Keyspaces supports three read consistency levels: ONE, LOCAL_ONE, and LOCAL_QUORUM.',
  },
  'write-consistency': {
    title: 'writes run at LOCAL_QUORUM only',
    doc: `${GUIDE}/consistency.html#WriteConsistency`,
    quote:
      'Writes are durably stored before they are acknowledged using the LOCAL_QUORUM consistency level. ' +
      '(A write at ONE is answered "Consistency level ONE is not supported for this operation. Supported ' +
      'consistency levels are: LOCAL_QUORUM".)',
  },
  'serial-consistency': {
    title: 'no SERIAL or LOCAL_SERIAL consistency',
    doc: `${GUIDE}/consistency.html#UnsupportedConsistency`,
    quote:
      'The following consistency levels are not supported by Amazon Keyspaces and will result in exceptions: ' +
      'EACH_QUORUM, QUORUM, ALL, TWO, THREE, ANY, SERIAL, LOCAL_SERIAL.',
  },
  'client-side-timestamps': {
    title: 'USING TIMESTAMP and WRITETIME need client-side timestamps on the table',
    doc: `${GUIDE}/functional-differences.html#functional-differences.timestamps`,
    quote:
      'The USING TIMESTAMP clause and the WRITETIME function are only available when client-side timestamps ' +
      'are turned on for a table.',
  },
  'timestamp-window': {
    title: 'a client-side timestamp must be within 2 days before and 5 minutes after now',
    doc: `${GUIDE}/client-side-timestamps-how-to-queries.html`,
    quote:
      'A timestamp that is supplied by the client has to fall between the range of 2 days in the past and 5 ' +
      'minutes in the future from the current wall clock time.',
  },
  ttl: {
    title: 'USING TTL needs Time to Live enabled on the table',
    doc: `${GUIDE}/TTL-how-to-enable-custom-alter.html`,
    quote:
      'To enable Time to Live custom settings for a table so that TTL values can be applied to individual ' +
      'rows and columns without setting a TTL default value for the entire table ... ' +
      "ALTER TABLE my_table WITH CUSTOM_PROPERTIES={'ttl':{'status': 'enabled'}};",
  },
  'batch-size': {
    title: 'at most 100 statements in a logged batch, 30 in an unlogged one',
    doc: `${GUIDE}/quotas.html#table`,
    quote:
      'Max statements in logged batch: 100. Unlogged batch: up to 30 commands per batch ' +
      '(functional-differences.html#functional-differences.batch).',
  },
  'batch-statements': {
    title: 'a batch holds unconditional INSERT, UPDATE and DELETE only',
    doc: `${GUIDE}/functional-differences.html#functional-differences.batch`,
    quote: 'Only unconditional INSERT, UPDATE, or DELETE commands are permitted in a batch.',
  },
  'counter-batch': {
    title: 'no COUNTER batches',
    doc: `${GUIDE}/cassandra-apis.html#cassandra-api-support`,
    quote: 'The API table lists UNLOGGED BATCH and LOGGED BATCH; a COUNTER batch is neither.',
  },
  'system-tables': {
    title: 'only the system tables Keyspaces populates exist',
    doc: `${GUIDE}/working-with-keyspaces.html`,
    quote:
      'Amazon Keyspaces uses four system keyspaces: system, system_schema, system_schema_mcs, ' +
      'system_multiregion_info; in system it uses local, peers, size_estimates and prepared_statements.',
  },
  'unsupported-statement': {
    title: 'statements Keyspaces does not support',
    doc: `${GUIDE}/cassandra-apis.html#cassandra-api-support`,
    quote:
      'CREATE INDEX, DROP INDEX, ALTER TYPE, CREATE/DROP TRIGGER, CREATE/DROP FUNCTION, CREATE/DROP AGGREGATE, ' +
      'CREATE/ALTER/DROP MATERIALIZED VIEW and TRUNCATE: No.',
  },
  'security-statement': {
    title: 'no security configuration statements (IAM replaces them)',
    doc: `${GUIDE}/functional-differences.html#functional-differences.auth`,
    quote: "Amazon Keyspaces does not support Apache Cassandra's security configuration commands.",
  },
  'aggregate-functions': {
    title: 'no aggregate functions',
    doc: `${GUIDE}/cassandra-apis.html#cassandra-functions`,
    quote: 'Aggregate functions: No. User defined functions (UDF): No.',
  },
  'prepared-ddl': {
    title: 'DDL cannot be prepared',
    doc: `${GUIDE}/functional-differences.html#functional-differences.prepared-statements`,
    quote:
      'Amazon Keyspaces does not currently support the use of prepared statements for data definition ' +
      'language (DDL) operations ... DDL operations must be run outside of prepared statements.',
  },
  'in-keyword': {
    title: 'IN only in SELECT, without slices or TOKEN',
    doc: `${GUIDE}/functional-differences.html#functional-differences.IN-keyword`,
    quote:
      'IN is not supported with UPDATE and DELETE. ... Slice queries are not supported with the IN keyword. ' +
      'TOKENS are not supported with the IN keyword.',
  },
  'in-subqueries': {
    title: 'at most 100 IN subqueries per SELECT',
    doc: `${GUIDE}/quotas.html#table`,
    quote: 'Max subqueries per IN SELECT statement: 100.',
  },
  'row-size': {
    title: 'a row is at most 1 MB',
    doc: `${GUIDE}/quotas.html#table`,
    quote:
      'Max row size: 1 MB (the encoded size, estimated as calculating-row-size.html describes: key values ' +
      'stored twice, with their metadata).',
  },
  'partition-key-size': {
    title: 'a partition key is at most 2048 bytes',
    doc: `${GUIDE}/calculating-row-size.html`,
    quote: 'Partition keys can contain up to 2048 bytes of data.',
  },
  'clustering-key-size': {
    title: 'clustering columns hold at most 850 bytes',
    doc: `${GUIDE}/calculating-row-size.html`,
    quote: 'Clustering columns can store up to 850 bytes of data.',
  },
  'columns-per-write': {
    title: 'at most 225 regular columns per INSERT or UPDATE (166 with TTL)',
    doc: `${GUIDE}/quotas.html#table`,
    quote:
      'When Time to Live (TTL) is turned off, INSERT or UPDATE statements support up to 225 regular columns. ' +
      'When TTL is turned on, up to 166 regular columns can be modified in a single operation.',
  },
} as const satisfies Record<string, Omit<KeyspacesDifference, 'id'>>;

export type DifferenceId = keyof typeof DIFFERENCES;

export function difference(id: DifferenceId): KeyspacesDifference {
  return { id, ...DIFFERENCES[id] };
}

/** The variable that turns the strict mode off for a local run: `MICROBATCH_KEYSPACES_STRICT=0`. */
export const STRICT_ENV = 'MICROBATCH_KEYSPACES_STRICT';

/** Thrown before a statement Keyspaces would refuse reaches Cassandra. */
export class KeyspacesIncompatibleError extends Error {
  readonly difference: KeyspacesDifference;
  constructor(
    readonly differenceId: DifferenceId,
    readonly detail: string,
    readonly statement: string,
  ) {
    const d = difference(differenceId);
    super(
      `Amazon Keyspaces would refuse this statement: ${detail} [${d.id}: ${d.title}; ${d.doc}]. ` +
        `Statement: ${statement.length > 240 ? `${statement.slice(0, 240)}...` : statement} ` +
        `(the local Keyspaces-strict mode checks every statement; ${STRICT_ENV}=0 turns it off, docs/keyspaces.md)`,
    );
    this.name = 'KeyspacesIncompatibleError';
    this.difference = d;
  }
}

/** Reads MICROBATCH_KEYSPACES_STRICT: on unless it is `0` or `false`. */
export function strictFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env[STRICT_ENV]?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new Error(
    `${STRICT_ENV} is '${env[STRICT_ENV]}'; expected 1 (the default: check every statement against Amazon ` +
      'Keyspaces) or 0 (send whatever Cassandra accepts).',
  );
}

// ---------------------------------------------------------------------------------------------------------
// What a check needs to know

/** What Keyspaces would have enabled on a table. */
export interface TableFeatures {
  readonly ttlEnabled: boolean;
  readonly clientSideTimestamps: boolean;
}

/** The local table, as the driver's metadata describes it. */
export interface TableShape {
  readonly partitionKeys: readonly { readonly name: string; readonly type: string }[];
  readonly clusteringKeys: readonly { readonly name: string; readonly type: string }[];
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** `default_time_to_live` in seconds. */
  readonly defaultTtl: number;
}

/**
 * How a local table maps to Keyspaces: TTL is enabled exactly when the table has a default TTL (the project
 * creates its Keyspaces tables with `DefaultTimeToLive` and `custom_properties` ttl enabled exactly then:
 * schema/cql.ts, lib/keyspaces.ts), and no table has client-side timestamps (schema/tables.ts says why).
 */
export function defaultTableFeatures(shape: TableShape): TableFeatures {
  return { ttlEnabled: shape.defaultTtl > 0, clientSideTimestamps: false };
}

export interface StatementContext {
  readonly statement: ParsedStatement;
  /** The effective consistency and serial consistency the driver would send. */
  readonly consistency: number;
  readonly serialConsistency: number | undefined;
  readonly prepared: boolean;
  /** A timestamp given in the options (the protocol's USING TIMESTAMP), in microseconds. */
  readonly timestamp?: bigint | number | types.Long;
  readonly params: unknown;
  /** The table's shape and features, when the statement names a user table. */
  readonly table?: { readonly shape: TableShape; readonly features: TableFeatures };
  /** Microseconds since the epoch, for the client-side timestamp window. */
  readonly nowMicros?: bigint;
}

// ---------------------------------------------------------------------------------------------------------
// The checks

const C = types.consistencies;
const READ_LEVELS = new Set<number>([C.one, C.localOne, C.localQuorum]);
const consistencyName = (level: number): string =>
  (Object.entries(C).find(([, v]) => v === level)?.[0] ?? String(level))
    .replace(/([A-Z])/g, '_$1')
    .toUpperCase();

const SYSTEM_KEYSPACES = new Set(['system', 'system_schema', 'system_schema_mcs', 'system_multiregion_info']);
const SYSTEM_TABLES = new Set(['local', 'peers', 'size_estimates', 'prepared_statements']);
/** Cassandra's own system keyspaces, which Keyspaces does not have. */
const CASSANDRA_ONLY_KEYSPACES = /^system_(auth|distributed|traces|views|virtual_schema)$/;

const UNSUPPORTED_DDL: ReadonlyArray<{ verb?: string; object: string }> = [
  { object: 'INDEX' },
  { object: 'CUSTOM INDEX' },
  { verb: 'ALTER', object: 'TYPE' },
  { object: 'TRIGGER' },
  { object: 'FUNCTION' },
  { object: 'AGGREGATE' },
  { object: 'MATERIALIZED VIEW' },
];
const AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max']);

export const LIMITS = {
  loggedBatch: 100,
  unloggedBatch: 30,
  inSubqueries: 100,
  rowBytes: 1024 * 1024,
  partitionKeyBytes: 2048,
  clusteringKeyBytes: 850,
  columnsPerWrite: 225,
  columnsPerWriteWithTtl: 166,
  timestampPastMicros: 2n * 24n * 3600n * 1_000_000n,
  timestampFutureMicros: 5n * 60n * 1_000_000n,
} as const;

function fail(id: DifferenceId, detail: string, statement: string): KeyspacesIncompatibleError {
  return new KeyspacesIncompatibleError(id, detail, statement);
}

/** Every violation of one statement (empty when Keyspaces would take it). */
export function checkStatement(ctx: StatementContext): KeyspacesIncompatibleError[] {
  const s = ctx.statement;
  const out: KeyspacesIncompatibleError[] = [];
  const text = s.text;

  // Consistency: what the driver sends with this request.
  if (ctx.consistency === C.serial || ctx.consistency === C.localSerial) {
    out.push(
      fail(
        'serial-consistency',
        `consistency ${consistencyName(ctx.consistency)} (a serial read); read at LOCAL_QUORUM, which reflects ` +
          'every write acknowledged before it, lightweight transactions included',
        text,
      ),
    );
  } else if (s.kind === 'select' && !READ_LEVELS.has(ctx.consistency)) {
    out.push(
      fail(
        'read-consistency',
        `a read at ${consistencyName(ctx.consistency)}; use LOCAL_QUORUM or LOCAL_ONE`,
        text,
      ),
    );
  } else if (
    (s.kind === 'insert' || s.kind === 'update' || s.kind === 'delete') &&
    ctx.consistency !== C.localQuorum
  ) {
    out.push(
      fail('write-consistency', `a write at ${consistencyName(ctx.consistency)}; use LOCAL_QUORUM`, text),
    );
  }
  if (ctx.serialConsistency !== undefined) {
    out.push(
      fail(
        'serial-consistency',
        `serial consistency ${consistencyName(ctx.serialConsistency)} in the request; leave it unset (the ` +
          'protocol default, which every driver configuration in the guide sends) and let Keyspaces run the ' +
          'lightweight transaction',
        text,
      ),
    );
  }

  // Statements Keyspaces does not have.
  if (s.kind === 'truncate') {
    out.push(
      fail('unsupported-statement', 'TRUNCATE; delete the rows, or drop and recreate the table', text),
    );
  }
  if (s.kind === 'security') {
    out.push(
      fail('security-statement', `${s.verb ?? ''} ${s.object ?? ''}; grant access with IAM policies`, text),
    );
  }
  if (s.kind === 'ddl') {
    const bad = UNSUPPORTED_DDL.find((u) => u.object === s.object && (!u.verb || u.verb === s.verb));
    if (bad) out.push(fail('unsupported-statement', `${s.verb} ${s.object}`, text));
    if (ctx.prepared) {
      out.push(
        fail(
          'prepared-ddl',
          `${s.verb} ${s.object} as a prepared statement; run it with { prepare: false }`,
          text,
        ),
      );
    }
  }
  if (s.kind === 'batch' && s.batchStatements) {
    // A BEGIN BATCH ... APPLY BATCH string: the same rules as client.batch().
    out.push(
      ...checkBatchShape(
        s.batchType ?? 'logged',
        s.batchStatements.map((statement) => ({ statement, params: undefined })),
        text,
      ),
    );
  }

  // System tables.
  if (s.keyspace !== undefined) {
    if (
      CASSANDRA_ONLY_KEYSPACES.test(s.keyspace) ||
      (s.keyspace.startsWith('system') && !SYSTEM_KEYSPACES.has(s.keyspace))
    ) {
      out.push(fail('system-tables', `keyspace ${s.keyspace}, which Keyspaces does not have`, text));
    } else if (s.keyspace === 'system' && s.table !== undefined && !SYSTEM_TABLES.has(s.table)) {
      out.push(
        fail(
          'system-tables',
          `system.${s.table}, which Keyspaces does not populate (it has ${[...SYSTEM_TABLES].map((t) => `system.${t}`).join(', ')})`,
          text,
        ),
      );
    }
  }

  // Functions.
  for (const f of s.functions) {
    if (AGGREGATES.has(f) && s.kind === 'select') {
      out.push(
        fail(
          'aggregate-functions',
          `${f.toUpperCase()}(...); read the rows and aggregate them in code (the query pages through the table)`,
          text,
        ),
      );
    }
  }
  if (s.functions.has('writetime') && !ctx.table?.features.clientSideTimestamps) {
    out.push(
      fail(
        'client-side-timestamps',
        `WRITETIME(...) on ${tableName(s)}, which has no client-side timestamps`,
        text,
      ),
    );
  }

  // IN.
  const ins = s.where.filter((w) => w.op === 'IN');
  if (ins.length > 0) {
    if (s.kind === 'update' || s.kind === 'delete') {
      out.push(
        fail('in-keyword', `IN in ${s.kind.toUpperCase()}; write each row with its own statement`, text),
      );
    } else {
      if (s.where.some((w) => ['<', '>', '<=', '>='].includes(w.op)))
        out.push(fail('in-keyword', 'IN together with a slice (<, >, <=, >=)', text));
      if (s.functions.has('token')) out.push(fail('in-keyword', 'IN together with TOKEN(...)', text));
      let subqueries = 1;
      for (const w of ins) subqueries *= inSize(w.inValues, ctx.params) ?? 1;
      if (subqueries > LIMITS.inSubqueries) {
        out.push(
          fail(
            'in-subqueries',
            `${subqueries} IN subqueries (the product of the IN lists); the quota is ${LIMITS.inSubqueries}`,
            text,
          ),
        );
      }
    }
  }

  // Timestamps and TTL on a table.
  const isWrite = s.kind === 'insert' || s.kind === 'update' || s.kind === 'delete';
  if (isWrite) {
    const ts = s.usingTimestamp ? valueOf(s.usingTimestamp, ctx.params) : undefined;
    const given = s.usingTimestamp !== undefined || ctx.timestamp !== undefined;
    // A table the metadata does not know yet counts as what every table of the schema is: no client-side
    // timestamps.
    if (given && !(ctx.table?.features.clientSideTimestamps ?? false)) {
      out.push(
        fail(
          'client-side-timestamps',
          `${s.usingTimestamp ? 'USING TIMESTAMP' : 'a timestamp in the query options'} on ${tableName(s)}, which ` +
            'has no client-side timestamps; take idempotence from the values (compare-and-set, pinned times), ' +
            'not from write times',
          text,
        ),
      );
    } else if (given && ctx.table?.features.clientSideTimestamps && ctx.nowMicros !== undefined) {
      const micros = toBigInt(s.usingTimestamp ? ts : ctx.timestamp);
      if (
        micros !== undefined &&
        (micros < ctx.nowMicros - LIMITS.timestampPastMicros ||
          micros > ctx.nowMicros + LIMITS.timestampFutureMicros)
      ) {
        out.push(
          fail(
            'timestamp-window',
            `timestamp ${micros} µs is ${describeOffset(micros - ctx.nowMicros)} from now`,
            text,
          ),
        );
      }
    }
    if (s.usingTtl !== undefined && ctx.table && !ctx.table.features.ttlEnabled) {
      out.push(
        fail(
          'ttl',
          `USING TTL on ${tableName(s)}, which has no Time to Live enabled (default_time_to_live is 0); give the ` +
            'table a default TTL in schema/tables.ts or the config',
          text,
        ),
      );
    }
  }

  // Sizes of what this statement writes.
  if ((s.kind === 'insert' || s.kind === 'update') && ctx.table) {
    out.push(...checkSizes(s, ctx.table.shape, ctx.table.features, ctx.params));
  } else if (s.kind === 'delete' && ctx.table) {
    out.push(...checkKeySizes(s, ctx.table.shape, keyValues(s, ctx.table.shape, ctx.params)));
  }
  return out;
}

export interface BatchItem {
  readonly statement: ParsedStatement;
  readonly params: unknown;
}

function checkBatchShape(
  type: 'logged' | 'unlogged' | 'counter',
  items: readonly BatchItem[],
  text: string,
): KeyspacesIncompatibleError[] {
  const out: KeyspacesIncompatibleError[] = [];
  if (type === 'counter') out.push(fail('counter-batch', 'a COUNTER batch', text));
  const limit = type === 'unlogged' ? LIMITS.unloggedBatch : LIMITS.loggedBatch;
  if (items.length > limit) {
    out.push(
      fail(
        'batch-size',
        `${items.length} statements in one ${type} batch; the quota is ${limit}. Split the batch`,
        text,
      ),
    );
  }
  items.forEach(({ statement }, i) => {
    if (!['insert', 'update', 'delete'].includes(statement.kind)) {
      out.push(
        fail(
          'batch-statements',
          `statement ${i + 1} of the batch is a ${statement.kind.toUpperCase()}`,
          text,
        ),
      );
    } else if (statement.conditional) {
      out.push(
        fail(
          'batch-statements',
          `statement ${i + 1} of the batch is conditional (IF ...); run lightweight transactions on their own`,
          text,
        ),
      );
    }
  });
  return out;
}

/** The batch's own rules; each statement also goes through `checkStatement` with the batch's options. */
export function checkBatch(
  logged: boolean,
  counter: boolean,
  items: readonly BatchItem[],
): KeyspacesIncompatibleError[] {
  const text = `BATCH of ${items.length}: ${items.map((i) => i.statement.text).join('; ')}`;
  return checkBatchShape(counter ? 'counter' : logged ? 'logged' : 'unlogged', items, text);
}

// ---------------------------------------------------------------------------------------------------------
// Sizes, as calculating-row-size.html estimates them

const tableName = (s: ParsedStatement): string =>
  s.keyspace ? `${s.keyspace}.${s.table}` : (s.table ?? '?');

function valueOf(source: ValueSource, params: unknown): unknown {
  if (source.kind === 'literal') return source.text;
  if (Array.isArray(params)) return params[source.index];
  if (params && typeof params === 'object' && source.name !== undefined) {
    const entry = Object.entries(params).find(([k]) => k.toLowerCase() === source.name);
    return entry?.[1];
  }
  return undefined;
}

function inSize(
  values: readonly ValueSource[] | ValueSource | undefined,
  params: unknown,
): number | undefined {
  if (values === undefined) return undefined;
  if (Array.isArray(values)) return values.length;
  const v = valueOf(values as ValueSource, params);
  return Array.isArray(v) ? v.length : undefined;
}

function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (v instanceof types.Long) return BigInt(v.toString());
  return undefined;
}

function describeOffset(micros: bigint): string {
  const seconds = Number(micros / 1_000_000n);
  const abs = Math.abs(seconds);
  const amount = abs >= 86_400 ? `${(abs / 86_400).toFixed(1)} days` : `${abs} s`;
  return `${amount} ${seconds < 0 ? 'before' : 'after'}`;
}

/** The encoded size of one value, in bytes, by the guide's rules for each type. */
export function encodedSize(type: string, value: unknown): number {
  if (value === null || value === undefined) return 1;
  const t = type.toLowerCase();
  if (typeof value === 'string' && (t === 'text' || t === 'varchar' || t === 'ascii')) {
    return Buffer.byteLength(value, 'utf8');
  }
  if (['int', 'bigint', 'smallint', 'tinyint', 'varint', 'counter'].includes(t)) {
    // Variable length: about one byte per two significant digits, plus one.
    const digits = String(toBigInt(value) ?? value)
      .replace(/^-/, '')
      .replace(/^0+|0+$/g, '').length;
    return Math.ceil(digits / 2) + 1;
  }
  if (t === 'boolean') return 1;
  if (t === 'double' || t === 'timestamp' || t === 'time') return 8;
  if (t === 'float' || t === 'date') return 4;
  if (t === 'uuid' || t === 'timeuuid') return 16;
  if (Buffer.isBuffer(value)) return value.length;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (Array.isArray(value)) return 3 + value.reduce<number>((n, v) => n + 1 + encodedSize('', v), 0);
  if (value instanceof Map)
    return 3 + [...value].reduce<number>((n, [k, v]) => n + 1 + encodedSize('', k) + encodedSize('', v), 0);
  if (value instanceof Date) return 8;
  return Buffer.byteLength(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? '',
    'utf8',
  );
}

function keyValues(s: ParsedStatement, shape: TableShape, params: unknown): Map<string, unknown> {
  const values = new Map<string, unknown>();
  const keys = new Set([...shape.partitionKeys, ...shape.clusteringKeys].map((k) => k.name));
  for (const [column, source] of s.writes)
    if (keys.has(column) && source) values.set(column, valueOf(source, params));
  for (const w of s.where)
    if (w.op === '=' && keys.has(w.column) && w.value) values.set(w.column, valueOf(w.value, params));
  return values;
}

function checkKeySizes(
  s: ParsedStatement,
  shape: TableShape,
  values: ReadonlyMap<string, unknown>,
): KeyspacesIncompatibleError[] {
  const out: KeyspacesIncompatibleError[] = [];
  const sum = (cols: TableShape['partitionKeys']): number | undefined => {
    let n = 0;
    for (const c of cols) {
      if (!values.has(c.name)) return undefined;
      n += encodedSize(c.type, values.get(c.name));
    }
    return n;
  };
  const pk = sum(shape.partitionKeys);
  if (pk !== undefined && pk > LIMITS.partitionKeyBytes) {
    out.push(
      fail(
        'partition-key-size',
        `a partition key of ${pk} bytes (${shape.partitionKeys.map((k) => k.name).join(', ')}); the quota is ` +
          `${LIMITS.partitionKeyBytes}`,
        s.text,
      ),
    );
  }
  const ck = shape.clusteringKeys.length ? sum(shape.clusteringKeys) : undefined;
  if (ck !== undefined && ck > LIMITS.clusteringKeyBytes) {
    out.push(
      fail(
        'clustering-key-size',
        `clustering columns of ${ck} bytes (${shape.clusteringKeys.map((k) => k.name).join(', ')}); the quota is ` +
          `${LIMITS.clusteringKeyBytes}`,
        s.text,
      ),
    );
  }
  return out;
}

function checkSizes(
  s: ParsedStatement,
  shape: TableShape,
  features: TableFeatures,
  params: unknown,
): KeyspacesIncompatibleError[] {
  const out: KeyspacesIncompatibleError[] = [];
  const values = keyValues(s, shape, params);
  out.push(...checkKeySizes(s, shape, values));

  const keyNames = new Set([...shape.partitionKeys, ...shape.clusteringKeys].map((k) => k.name));
  const regular = [...s.writes.keys()].filter((c) => !keyNames.has(c));
  const maxColumns = features.ttlEnabled ? LIMITS.columnsPerWriteWithTtl : LIMITS.columnsPerWrite;
  if (regular.length > maxColumns) {
    out.push(
      fail(
        'columns-per-write',
        `${regular.length} regular columns in one ${s.kind.toUpperCase()}; the quota is ${maxColumns}` +
          (features.ttlEnabled ? ' on a table with TTL' : ''),
        s.text,
      ),
    );
  }

  // The row as this statement writes it: key values twice with their metadata, regular values with their
  // column id, and 100 bytes of row metadata. (An UPDATE of some columns cannot see the rest of the row.)
  const typeOf = new Map(shape.columns.map((c) => [c.name, c.type]));
  const columnId = Math.ceil(shape.columns.length / 62);
  let bytes = 100;
  for (const k of shape.partitionKeys) bytes += 2 * encodedSize(k.type, values.get(k.name)) + 3;
  for (const k of shape.clusteringKeys) {
    const data = encodedSize(k.type, values.get(k.name));
    bytes += 2 * data + Math.ceil(data / 5);
  }
  for (const c of regular) {
    const source = s.writes.get(c);
    const value = source ? valueOf(source, params) : undefined;
    bytes += encodedSize(typeOf.get(c) ?? '', value) + columnId;
  }
  if (bytes > LIMITS.rowBytes) {
    out.push(
      fail(
        'row-size',
        `a row of about ${bytes} bytes in ${tableName(s)}; the quota is ${LIMITS.rowBytes} bytes. Keep large ` +
          'values out of the row (cut them, or store them elsewhere and keep a reference)',
        s.text,
      ),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The client

/** cassandra-driver 4.10's internal chokepoints: `execute`, `eachRow` and `stream` call `_execute`; `batch` calls `_batch`. */
interface DriverInternals {
  _execute(query: unknown, params: unknown, execOptions: DriverExecutionOptions): Promise<types.ResultSet>;
  _batch(queries: unknown, options: unknown): Promise<types.ResultSet>;
}

interface DriverExecutionOptions {
  getConsistency(): number | undefined;
  getSerialConsistency(): number | undefined;
  isPrepared(): boolean | undefined;
  getTimestamp(): unknown;
  getKeyspace(): string | undefined;
  isBatchLogged(): boolean | undefined;
  isBatchCounter(): boolean | undefined;
}

// Internal to cassandra-driver (pinned exactly in package.json): the options object every request resolves,
// profiles and client defaults included, so the strict mode checks what is really sent.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DefaultExecutionOptions } = require('cassandra-driver/lib/execution-options') as {
  DefaultExecutionOptions: { create(options: unknown, client: Client): DriverExecutionOptions };
};

export interface StrictClientOptions {
  /** @default - `defaultTableFeatures`: TTL when the table has a default TTL, no client-side timestamps. */
  readonly tableFeatures?: (keyspace: string, table: string, shape: TableShape) => TableFeatures;
  /** @default - the wall clock */
  readonly nowMicros?: () => bigint;
}

const base = Client.prototype as unknown as DriverInternals;

/**
 * A cassandra-driver `Client` that refuses, before sending, every statement Amazon Keyspaces would refuse. It
 * is a `Client`, so it goes wherever the code takes one; `createCassandraClient` returns it for the local
 * target unless MICROBATCH_KEYSPACES_STRICT=0.
 */
export class KeyspacesStrictClient extends Client {
  private readonly parsed = new Map<string, ParsedStatement>();
  private readonly features: NonNullable<StrictClientOptions['tableFeatures']>;
  private readonly now: () => bigint;

  constructor(options: ClientOptions, strict: StrictClientOptions = {}) {
    super(options);
    this.features = strict.tableFeatures ?? ((_k, _t, shape) => defaultTableFeatures(shape));
    this.now = strict.nowMicros ?? (() => BigInt(Date.now()) * 1000n);
  }

  /** Reads and caches a statement's shape: the code prepares a few statements and runs them many times. */
  parse(query: string): ParsedStatement {
    let p = this.parsed.get(query);
    if (!p) {
      p = parseStatement(query);
      if (this.parsed.size > 10_000) this.parsed.clear();
      this.parsed.set(query, p);
    }
    return p;
  }

  private async tableOf(
    s: ParsedStatement,
    keyspace: string | undefined,
  ): Promise<StatementContext['table'] | undefined> {
    const ks = s.keyspace ?? keyspace;
    if (!ks || !s.table || ks.startsWith('system')) return undefined;
    let meta = await this.metadata.getTable(ks, s.table);
    if (!meta) {
      // A keyspace created a moment ago may not be in the driver's metadata yet: ask once.
      await this.metadata.refreshKeyspace(ks).catch(() => undefined);
      meta = await this.metadata.getTable(ks, s.table);
    }
    if (!meta) return undefined; // Cassandra will say the table does not exist.
    const col = (c: { name: string; type: { code: number; info?: unknown } }) => ({
      name: c.name,
      type: typeName(c.type.code),
    });
    const shape: TableShape = {
      partitionKeys: meta.partitionKeys.map(col),
      clusteringKeys: meta.clusteringKeys.map(col),
      columns: meta.columns.map(col),
      defaultTtl: meta.defaultTtl ?? 0,
    };
    return { shape, features: this.features(ks, s.table, shape) };
  }

  private async check(
    query: string,
    params: unknown,
    o: {
      consistency: number;
      serialConsistency: number | undefined;
      prepared: boolean;
      timestamp: unknown;
      keyspace: string | undefined;
    },
  ): Promise<void> {
    const statement = this.parse(query);
    const table = await this.tableOf(statement, o.keyspace);
    const violations = checkStatement({
      statement,
      consistency: o.consistency,
      serialConsistency: o.serialConsistency,
      prepared: o.prepared,
      timestamp: o.timestamp as StatementContext['timestamp'],
      params,
      table,
      nowMicros: this.now(),
    });
    if (violations[0]) throw violations[0];
  }

  private resolved(execOptions: DriverExecutionOptions) {
    return {
      consistency: execOptions.getConsistency() ?? C.localOne,
      serialConsistency: execOptions.getSerialConsistency() ?? undefined,
      prepared: execOptions.isPrepared() === true,
      timestamp: execOptions.getTimestamp() ?? undefined,
      keyspace: execOptions.getKeyspace() ?? this.keyspace,
    };
  }

  /** @internal the driver's chokepoint for execute, eachRow and stream. */
  async _execute(
    query: unknown,
    params: unknown,
    execOptions: DriverExecutionOptions,
  ): Promise<types.ResultSet> {
    if (typeof query === 'string') await this.check(query, params, this.resolved(execOptions));
    return base._execute.call(this, query, params, execOptions);
  }

  /** @internal the driver's chokepoint for batch. */
  async _batch(queries: unknown, options: unknown): Promise<types.ResultSet> {
    if (Array.isArray(queries) && queries.length > 0) {
      const o = this.resolved(DefaultExecutionOptions.create(options, this));
      const items = queries.map((q: unknown) => {
        const { query, params } =
          typeof q === 'string'
            ? { query: q, params: undefined }
            : (q as { query: string; params?: unknown });
        return { query, params, statement: this.parse(query) };
      });
      const opts = DefaultExecutionOptions.create(options, this);
      const shape = checkBatch(opts.isBatchLogged() !== false, opts.isBatchCounter() === true, items);
      if (shape[0]) throw shape[0];
      for (const item of items) await this.check(item.query, item.params, o);
    }
    return base._batch.call(this, queries, options);
  }
}

/** The CQL name of a driver type code, for the size rules (collections and UDTs fall back to their values). */
function typeName(code: number): string {
  const entry = Object.entries(types.dataTypes).find(([, v]) => v === code);
  return entry?.[0] ?? '';
}
