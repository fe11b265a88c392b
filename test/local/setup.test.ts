/**
 * `setup` on a table an older schema created with another primary key: the ways out it names must not lose the
 * records already read unawares. The same refusal on the real Cassandra is in
 * test/lambda/runtime/cassandra-store.int.test.ts.
 */
import type { Client } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { ensureSchema, SchemaDriftError } from '../../local/setup';
import { DEAD_LETTERS, SENT_RECEIVED } from '../../schema';
import { SHIPPED_JOBS } from '../support/jobs';

/** A client whose keyspace holds `table` keyed by `column` alone, which is not the schema's key. */
function clientWithOldKey(table: string, column: string): Client {
  const row: Record<string, string> = { table_name: table, column_name: column, kind: 'partition_key' };
  const rows = [{ get: (name: string) => row[name] }];
  const client = {
    execute: async (cql: string) => ({ rows: cql.includes('system_schema.columns') ? rows : [] }),
  };
  return client as unknown as Client;
}

async function setupError(table: string, column: string): Promise<string> {
  const keyspace = { name: 'ks', ttlSeconds: {} } as never;
  const failed = await ensureSchema(clientWithOldKey(table, column), { keyspace }, SHIPPED_JOBS).catch(
    (error: unknown) => error,
  );
  expect(failed).toBeInstanceOf(SchemaDriftError);
  return (failed as Error).message;
}

const DROP_WARNING =
  ' Dropping the table alone would lose what it held: the checkpoints have passed those records, so a table ' +
  'created again never gets them (replay counts them as duplicates).';

describe('ensureSchema on a table whose primary key changed', () => {
  it("GIVEN a job's table THEN names reset and a renamed job, and warns that dropping the table loses its rows", async () => {
    // (Seen live: a job's table dropped and set up again stayed empty, and `replay --from earliest` applied none
    // of the 17 records in Kafka; the same job under a new name filled a new table with all of them.)
    expect(await setupError(SENT_RECEIVED.name, 'time_received')).toBe(
      `Table ks.${SENT_RECEIVED.name} has the primary key (time_received) of an older schema; this version keys ` +
        "it by (time_sent), and Cassandra cannot change a primary key in place. Wipe the local data, Kafka's " +
        'records included, with `microbatch reset`, then run again; or, to fill the new table from the records ' +
        "still in Kafka, rename the table and its job (a job's checkpoints go by its name, so a renamed job reads " +
        'its topics from the start).' +
        DROP_WARNING,
    );
  });

  it('GIVEN a table of the runtime THEN names reset alone: no job to rename', async () => {
    expect(await setupError(DEAD_LETTERS.name, 'job')).toMatch(
      new RegExp(
        `^Table ks\\.${DEAD_LETTERS.name} has the primary key \\(job\\) of an older schema; .* with ` +
          '`microbatch reset`, then run again\\. Dropping the table alone',
      ),
    );
  });
});
