/**
 * A small CQL reader: just enough of a statement's shape for the Keyspaces-strict mode to check it (what kind
 * of statement, which table, which columns get which bound values, the USING and IF clauses, IN lists,
 * function calls). It is not a validator: Cassandra still parses every statement, and whatever this reader
 * does not understand it leaves out rather than guesses.
 */

export type StatementKind =
  'select' | 'insert' | 'update' | 'delete' | 'batch' | 'use' | 'truncate' | 'ddl' | 'security' | 'other';

/** Where a value comes from: a bind marker (by position, and by name for `:name`), or a literal's text. */
export type ValueSource =
  | { readonly kind: 'bind'; readonly index: number; readonly name?: string }
  | { readonly kind: 'literal'; readonly text: string };

export interface WhereCondition {
  readonly column: string;
  readonly op: string;
  /** The value of an `=` condition, when it is a single bind marker or literal. */
  readonly value?: ValueSource;
  /** The values of `IN (...)`: the literal list, or one bind marker holding the list. */
  readonly inValues?: readonly ValueSource[] | ValueSource;
}

export interface ParsedStatement {
  readonly kind: StatementKind;
  /** The statement's text, squeezed to one line, for messages. */
  readonly text: string;
  /** `CREATE`, `ALTER`, `DROP` (with `ddl`), or the security verb. */
  readonly verb?: string;
  /** The DDL object: `KEYSPACE`, `TABLE`, `INDEX`, `MATERIALIZED VIEW`, `FUNCTION`, ... */
  readonly object?: string;
  readonly keyspace?: string;
  readonly table?: string;
  /** INSERT: the columns and their values; UPDATE: the assigned columns (value when it is `col = value`). */
  readonly writes: ReadonlyMap<string, ValueSource | undefined>;
  readonly where: readonly WhereCondition[];
  /** `IF NOT EXISTS`, `IF EXISTS` or `IF <condition>` on a DML statement (a lightweight transaction). */
  readonly conditional: boolean;
  readonly usingTimestamp?: ValueSource;
  readonly usingTtl?: ValueSource;
  /** Lower-cased names of the functions the statement calls, e.g. `count`, `writetime`, `token`. */
  readonly functions: ReadonlySet<string>;
  /** BATCH in one string: `logged`, `unlogged` or `counter`, and its statements. */
  readonly batchType?: 'logged' | 'unlogged' | 'counter';
  readonly batchStatements?: readonly ParsedStatement[];
}

type Token =
  | { readonly t: 'word'; readonly v: string; readonly quoted: boolean }
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'number'; readonly v: string }
  | { readonly t: 'bind'; readonly name?: string }
  | { readonly t: 'punct'; readonly v: string };

const PUNCT = [
  '<=',
  '>=',
  '!=',
  '(',
  ')',
  ',',
  ';',
  '.',
  '=',
  '<',
  '>',
  '*',
  '[',
  ']',
  '{',
  '}',
  ':',
  '+',
  '-',
];

export function tokenize(cql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < cql.length) {
    const c = cql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (cql.startsWith('--', i) || cql.startsWith('//', i)) {
      const end = cql.indexOf('\n', i);
      i = end < 0 ? cql.length : end + 1;
    } else if (cql.startsWith('/*', i)) {
      const end = cql.indexOf('*/', i + 2);
      i = end < 0 ? cql.length : end + 2;
    } else if (c === "'") {
      let j = i + 1;
      let v = '';
      while (j < cql.length) {
        if (cql[j] === "'" && cql[j + 1] === "'") {
          v += "'";
          j += 2;
        } else if (cql[j] === "'") break;
        else v += cql[j++];
      }
      out.push({ t: 'string', v });
      i = j + 1;
    } else if (cql.startsWith('$$', i)) {
      const end = cql.indexOf('$$', i + 2);
      out.push({ t: 'string', v: cql.slice(i + 2, end < 0 ? cql.length : end) });
      i = end < 0 ? cql.length : end + 2;
    } else if (c === '"') {
      let j = i + 1;
      let v = '';
      while (j < cql.length) {
        if (cql[j] === '"' && cql[j + 1] === '"') {
          v += '"';
          j += 2;
        } else if (cql[j] === '"') break;
        else v += cql[j++];
      }
      out.push({ t: 'word', v, quoted: true });
      i = j + 1;
    } else if (c === '?') {
      out.push({ t: 'bind' });
      i++;
    } else if (c === ':' && /[A-Za-z_]/.test(cql[i + 1] ?? '')) {
      const m = /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(cql.slice(i))!;
      out.push({ t: 'bind', name: m[1]!.toLowerCase() });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9][0-9A-Za-z.+-]*/.exec(cql.slice(i))!;
      out.push({ t: 'number', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(cql.slice(i))!;
      out.push({ t: 'word', v: m[0], quoted: false });
      i += m[0].length;
    } else {
      const p = PUNCT.find((x) => cql.startsWith(x, i));
      out.push({ t: 'punct', v: p ?? c });
      i += p?.length ?? 1;
    }
  }
  return out;
}

/** A keyword test: an unquoted word, case-insensitive. */
function isKw(tok: Token | undefined, ...words: string[]): boolean {
  return tok?.t === 'word' && !tok.quoted && words.includes(tok.v.toUpperCase());
}

function isP(tok: Token | undefined, v: string): boolean {
  return tok?.t === 'punct' && tok.v === v;
}

/** An identifier's name as Cassandra stores it: quoted names keep their case, others are lower-cased. */
function ident(tok: Token | undefined): string | undefined {
  if (tok?.t !== 'word') return undefined;
  return tok.quoted ? tok.v : tok.v.toLowerCase();
}

class Reader {
  pos = 0;
  binds = 0;
  constructor(readonly toks: readonly Token[]) {}

  peek(offset = 0): Token | undefined {
    return this.toks[this.pos + offset];
  }
  next(): Token | undefined {
    const t = this.toks[this.pos++];
    return t;
  }
  done(): boolean {
    return this.pos >= this.toks.length;
  }
  /** Consumes a value (bind marker or literal) and says where it comes from; a term it cannot read: undefined. */
  value(): ValueSource | undefined {
    const t = this.peek();
    if (t?.t === 'bind') {
      this.pos++;
      return { kind: 'bind', index: this.binds++, ...(t.name ? { name: t.name } : {}) };
    }
    if (t?.t === 'string' || t?.t === 'number') {
      this.pos++;
      return { kind: 'literal', text: t.v };
    }
    if (isP(t, '-') && this.peek(1)?.t === 'number') {
      this.pos += 2;
      return { kind: 'literal', text: `-${(this.toks[this.pos - 1] as { v: string }).v}` };
    }
    if (isKw(t, 'TRUE', 'FALSE', 'NULL')) {
      this.pos++;
      return { kind: 'literal', text: (t as { v: string }).v.toLowerCase() };
    }
    this.skipTerm();
    return undefined;
  }
  /** Skips one term (a function call, a collection literal, a tuple ...), counting the bind markers in it. */
  skipTerm(): void {
    let depth = 0;
    while (!this.done()) {
      const t = this.peek()!;
      if (depth === 0 && (isP(t, ',') || isP(t, ';') || (t.t === 'word' && !t.quoted && isClauseWord(t.v))))
        return;
      if (isP(t, '(') || isP(t, '[') || isP(t, '{')) depth++;
      if (isP(t, ')') || isP(t, ']') || isP(t, '}')) {
        if (depth === 0) return;
        depth--;
      }
      if (t.t === 'bind') this.binds++;
      this.pos++;
    }
  }
  /** Skips a parenthesised group, counting the bind markers in it. */
  skipParens(): void {
    if (!isP(this.peek(), '(')) return;
    let depth = 0;
    do {
      const t = this.next();
      if (isP(t, '(')) depth++;
      if (isP(t, ')')) depth--;
      if (t?.t === 'bind') this.binds++;
    } while (depth > 0 && !this.done());
  }
  /** `ks.table` or `table`. */
  tableName(): { keyspace?: string; table?: string } {
    const a = ident(this.next());
    if (isP(this.peek(), '.')) {
      this.pos++;
      return { keyspace: a, table: ident(this.next()) };
    }
    return { table: a };
  }
}

const CLAUSE_WORDS = new Set([
  'AND',
  'WHERE',
  'IF',
  'USING',
  'SET',
  'FROM',
  'VALUES',
  'LIMIT',
  'ALLOW',
  'ORDER',
  'GROUP',
  'PER',
  'APPLY',
]);

function isClauseWord(word: string): boolean {
  return CLAUSE_WORDS.has(word.toUpperCase());
}

const SECURITY_VERBS = new Set(['GRANT', 'REVOKE', 'LIST']);
const DDL_OBJECTS = [
  'MATERIALIZED VIEW',
  'CUSTOM INDEX',
  'KEYSPACE',
  'TABLE',
  'COLUMNFAMILY',
  'INDEX',
  'TYPE',
  'TRIGGER',
  'FUNCTION',
  'AGGREGATE',
  'ROLE',
  'USER',
];

/** Reads the statement; the result is cached by the caller per query string. */
export function parseStatement(cql: string): ParsedStatement {
  const toks = tokenize(cql);
  const r = new Reader(toks);
  return readStatement(r, cql.replace(/\s+/g, ' ').trim());
}

function base(kind: StatementKind, text: string): ParsedStatement {
  return { kind, text, writes: new Map(), where: [], conditional: false, functions: new Set() };
}

function readStatement(r: Reader, text: string): ParsedStatement {
  const first = r.peek();
  if (isKw(first, 'SELECT')) return readSelect(r, text);
  if (isKw(first, 'INSERT')) return readInsert(r, text);
  if (isKw(first, 'UPDATE')) return readUpdate(r, text);
  if (isKw(first, 'DELETE')) return readDelete(r, text);
  if (isKw(first, 'BEGIN')) return readBatch(r, text);
  if (isKw(first, 'USE')) return base('use', text);
  if (isKw(first, 'TRUNCATE')) {
    r.next();
    if (isKw(r.peek(), 'TABLE')) r.next();
    return { ...base('truncate', text), ...r.tableName() };
  }
  if (isKw(first, 'CREATE', 'ALTER', 'DROP')) {
    r.next();
    const verb = (first as { v: string }).v.toUpperCase();
    if (isKw(r.peek(), 'OR') && isKw(r.peek(1), 'REPLACE')) r.pos += 2;
    const words = r.toks
      .slice(r.pos, r.pos + 2)
      .map((t) => (t.t === 'word' ? t.v.toUpperCase() : ''))
      .join(' ');
    const object = DDL_OBJECTS.find((o) => words === o || words.startsWith(`${o} `)) ?? words.split(' ')[0];
    const kind: StatementKind = object === 'ROLE' || object === 'USER' ? 'security' : 'ddl';
    return { ...base(kind, text), verb, object };
  }
  if (first?.t === 'word' && SECURITY_VERBS.has(first.v.toUpperCase()))
    return { ...base('security', text), verb: first.v.toUpperCase() };
  return base('other', text);
}

function readSelect(r: Reader, text: string): ParsedStatement {
  r.next(); // SELECT
  const functions = new Set<string>();
  while (!r.done() && !isKw(r.peek(), 'FROM')) {
    const t = r.next()!;
    if (t.t === 'word' && isP(r.peek(), '(')) functions.add(t.v.toLowerCase());
    if (t.t === 'bind') r.binds++;
  }
  r.next(); // FROM
  const name = r.tableName();
  const where = isKw(r.peek(), 'WHERE') ? (r.next(), readWhere(r, functions)) : [];
  return { ...base('select', text), ...name, where, functions };
}

function readInsert(r: Reader, text: string): ParsedStatement {
  r.next(); // INSERT
  if (isKw(r.peek(), 'INTO')) r.next();
  const name = r.tableName();
  const writes = new Map<string, ValueSource | undefined>();
  const functions = new Set<string>();
  if (isP(r.peek(), '(')) {
    r.next();
    const columns: string[] = [];
    while (!r.done() && !isP(r.peek(), ')')) {
      const c = ident(r.next());
      if (c) columns.push(c);
      if (isP(r.peek(), ',')) r.next();
    }
    r.next(); // )
    if (isKw(r.peek(), 'VALUES')) {
      r.next();
      r.next(); // (
      for (const column of columns) {
        const t = r.peek();
        if (t?.t === 'word' && isP(r.peek(1), '(')) functions.add(t.v.toLowerCase());
        writes.set(column, r.value());
        if (isP(r.peek(), ',')) r.next();
      }
      if (isP(r.peek(), ')')) r.next();
    }
  } else if (isKw(r.peek(), 'JSON')) {
    r.next();
    r.value();
  }
  return { ...base('insert', text), ...name, writes, functions, ...readTail(r, functions) };
}

function readUpdate(r: Reader, text: string): ParsedStatement {
  r.next(); // UPDATE
  const name = r.tableName();
  const functions = new Set<string>();
  const using = isKw(r.peek(), 'USING') ? readUsing(r) : {};
  const writes = new Map<string, ValueSource | undefined>();
  if (isKw(r.peek(), 'SET')) {
    r.next();
    while (!r.done() && !isKw(r.peek(), 'WHERE', 'IF')) {
      const column = ident(r.next());
      if (isP(r.peek(), '=')) {
        r.next();
        const t = r.peek();
        if (t?.t === 'word' && isP(r.peek(1), '(')) functions.add(t.v.toLowerCase());
        const v = r.value();
        // `c = c + ?` and friends: the column is written, its new size is not known here.
        const simple = isP(r.peek(), ',') || isKw(r.peek(), 'WHERE', 'IF') || r.done();
        if (!simple) r.skipTerm();
        if (column) writes.set(column, simple ? v : undefined);
      } else {
        // `c[?] = ?`, `c.field = ?`
        r.skipTerm();
        if (column) writes.set(column, undefined);
      }
      if (isP(r.peek(), ',')) r.next();
    }
  }
  const where = isKw(r.peek(), 'WHERE') ? (r.next(), readWhere(r, functions)) : [];
  const tail = readTail(r, functions);
  return {
    ...base('update', text),
    ...name,
    writes,
    where,
    functions,
    ...tail,
    ...using,
  };
}

function readDelete(r: Reader, text: string): ParsedStatement {
  r.next(); // DELETE
  while (!r.done() && !isKw(r.peek(), 'FROM')) {
    if (r.next()?.t === 'bind') r.binds++;
  }
  r.next(); // FROM
  const name = r.tableName();
  const functions = new Set<string>();
  const using = isKw(r.peek(), 'USING') ? readUsing(r) : {};
  const where = isKw(r.peek(), 'WHERE') ? (r.next(), readWhere(r, functions)) : [];
  return { ...base('delete', text), ...name, where, functions, ...readTail(r, functions), ...using };
}

function readBatch(r: Reader, text: string): ParsedStatement {
  r.next(); // BEGIN
  let batchType: 'logged' | 'unlogged' | 'counter' = 'logged';
  if (isKw(r.peek(), 'UNLOGGED')) batchType = 'unlogged';
  if (isKw(r.peek(), 'COUNTER')) batchType = 'counter';
  if (batchType !== 'logged') r.next();
  r.next(); // BATCH
  const using = isKw(r.peek(), 'USING') ? readUsing(r) : {};
  const statements: ParsedStatement[] = [];
  while (!r.done() && !isKw(r.peek(), 'APPLY')) {
    const start = r.pos;
    const sub = readStatement(r, '');
    // Each sub-statement runs to its `;` (or to APPLY BATCH); skip what the reader left.
    while (!r.done() && !isP(r.peek(), ';') && !isKw(r.peek(), 'APPLY')) {
      if (r.next()?.t === 'bind') r.binds++;
    }
    const subText = r.toks
      .slice(start, r.pos)
      .map((t) => ('v' in t ? t.v : '?'))
      .join(' ');
    statements.push({ ...sub, text: subText });
    if (isP(r.peek(), ';')) r.next();
  }
  return { ...base('batch', text), batchType, batchStatements: statements, ...using };
}

function readUsing(r: Reader): { usingTimestamp?: ValueSource; usingTtl?: ValueSource } {
  r.next(); // USING
  const out: { usingTimestamp?: ValueSource; usingTtl?: ValueSource } = {};
  for (;;) {
    if (isKw(r.peek(), 'TIMESTAMP')) {
      r.next();
      out.usingTimestamp = r.value() ?? { kind: 'literal', text: '' };
    } else if (isKw(r.peek(), 'TTL')) {
      r.next();
      out.usingTtl = r.value() ?? { kind: 'literal', text: '' };
    } else break;
    if (isKw(r.peek(), 'AND') && isKw(r.peek(1), 'TIMESTAMP', 'TTL')) r.next();
    else break;
  }
  return out;
}

/** What follows the values or conditions of a DML statement: `IF ...` and `USING ...`, in either order. */
function readTail(
  r: Reader,
  functions: Set<string>,
): { conditional: boolean; usingTimestamp?: ValueSource; usingTtl?: ValueSource } {
  let conditional = false;
  let using: { usingTimestamp?: ValueSource; usingTtl?: ValueSource } = {};
  while (!r.done() && !isP(r.peek(), ';') && !isKw(r.peek(), 'APPLY')) {
    if (isKw(r.peek(), 'IF')) {
      conditional = true;
      r.next();
      while (!r.done() && !isKw(r.peek(), 'USING') && !isP(r.peek(), ';') && !isKw(r.peek(), 'APPLY')) {
        const t = r.next()!;
        if (t.t === 'bind') r.binds++;
        if (t.t === 'word' && isP(r.peek(), '(')) functions.add(t.v.toLowerCase());
      }
    } else if (isKw(r.peek(), 'USING')) {
      using = { ...using, ...readUsing(r) };
    } else {
      if (r.next()?.t === 'bind') r.binds++;
    }
  }
  return { conditional, ...using };
}

function readWhere(r: Reader, functions: Set<string>): WhereCondition[] {
  const out: WhereCondition[] = [];
  while (!r.done() && !isKw(r.peek(), 'IF', 'LIMIT', 'ORDER', 'GROUP', 'PER', 'ALLOW', 'USING', 'APPLY')) {
    if (isP(r.peek(), ';')) break;
    if (isKw(r.peek(), 'AND')) {
      r.next();
      continue;
    }
    // The left side: a column, a tuple of columns, or token(...).
    let column = '';
    const t = r.next()!;
    if (t.t === 'word' && isP(r.peek(), '(')) {
      functions.add(t.v.toLowerCase());
      column = `${t.v.toLowerCase()}(...)`;
      r.skipParens();
    } else if (isP(t, '(')) {
      r.pos--;
      column = '(...)';
      r.skipParens();
    } else {
      column = ident(t) ?? '';
    }
    const opTok = r.next();
    let op = opTok && 'v' in opTok ? opTok.v.toUpperCase() : '';
    if (op === 'NOT' || op === 'IS') {
      const o2 = r.next();
      op = `${op} ${o2 && 'v' in o2 ? o2.v.toUpperCase() : ''}`;
    }
    if (op === 'IN') {
      if (isP(r.peek(), '(')) {
        r.next();
        const values: ValueSource[] = [];
        while (!r.done() && !isP(r.peek(), ')')) {
          const v = r.value();
          values.push(v ?? { kind: 'literal', text: '' });
          if (isP(r.peek(), ',')) r.next();
        }
        r.next();
        out.push({ column, op, inValues: values });
      } else {
        const v = r.value();
        out.push({ column, op, ...(v ? { inValues: v } : {}) });
      }
    } else {
      const v = r.value();
      out.push({ column, op, ...(v ? { value: v } : {}) });
    }
  }
  return out;
}
