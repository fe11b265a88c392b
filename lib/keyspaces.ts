/**
 * `KeyspacesSchema`: the keyspace and one `AWS::Cassandra::Table` per table of the typed schema (`schema/`).
 * Nothing here names a column: columns, key order, clustering order and the default TTL all come from the
 * `TableDef`s, the same ones the local DDL and the handlers use, the key and types through `tableLayout`, the
 * layout `microbatch setup` holds a local table to (schema/layout.ts).
 *
 * Every table: on-demand capacity (no provisioned-capacity surprises), point-in-time recovery as configured
 * (on by default), encryption at rest with the AWS owned key (explicit, so it is visible in the template), and
 * the default TTL from the config. No client-side timestamps: Keyspaces accepts them only near the current
 * time, so the runtime never writes `USING TIMESTAMP` (see schema/tables.ts).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cassandra-table.html
 *
 * IAM: `cassandra:Select` and `cassandra:Modify` on table ARNs
 * (`arn:<partition>:cassandra:<region>:<account>:/keyspace/<keyspace>/table/<table>`), and `cassandra:Select` on
 * the system tables a client reads (see `KEYSPACES_SYSTEM_TABLES`).
 */
import { CfnDeletionPolicy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cassandra from 'aws-cdk-lib/aws-cassandra';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';
import { assertIdentifier, MAX_TTL_SECONDS, tableLayout, type TableDef } from '../schema';

/**
 * The system tables read with `cassandra:Select`: exactly those cassandra-driver 4.10 reads against Keyspaces,
 * and the one the runtime reads itself.
 * - `system.local`, `system.peers`: the control connection reads both on connect and at every topology
 *   refresh (`lib/control-connection.js`), and their `schema_version` after a schema change
 *   (`lib/metadata/index.js`). Driver 4.10 never reads `system.peers_v2`.
 * - `system_schema.keyspaces`: the schema metadata the driver keeps in sync (`isMetadataSyncEnabled`, on by
 *   default): every keyspace on connect, one keyspace after a schema-change event. Keyspaces reports
 *   Cassandra 3.11, so the driver uses its `system_schema` parser (`SchemaParserV2` in
 *   `lib/metadata/schema-parser.js`), which reads tables, columns, indexes, types, functions, aggregates and
 *   views only when the application asks for that metadata (`client.metadata.getTable()` and the like) or, for
 *   routing, on protocol v3; the runtime does neither (Keyspaces speaks protocol v4, whose prepared
 *   statements carry the partition key).
 * - `system_schema_mcs.tables`: the runtime's own check of a table's status (`waitForKeyspacesTables` in
 *   `lambda/runtime/cassandra-client.ts`).
 * The three keyspaces' own ARNs are granted too, as the guide's `/keyspace/system*` grant covers them: reading a
 * system table is authorised on the table and its system keyspace, as `GetTable` documents for the same tables
 * (https://docs.aws.amazon.com/keyspaces/latest/APIReference/API_GetTable.html).
 * The ARN format of a system table is that of any table, `arn:<partition>:cassandra:<region>:<account>:/keyspace/
 * <keyspace>/table/<table>`; the Keyspaces guide grants `/keyspace/system*`, and these exact ARNs are a subset of
 * it. https://docs.aws.amazon.com/keyspaces/latest/devguide/security_iam_service-with-iam.html
 * test/lib/keyspaces.test.ts checks the list against the queries of the installed driver.
 */
export const KEYSPACES_SYSTEM_TABLES: Readonly<Record<string, readonly string[]>> = {
  system: ['local', 'peers'],
  system_schema: ['keyspaces'],
  system_schema_mcs: ['tables'],
};

/** A Keyspaces table the pipeline can grant access to. */
export interface IKeyspacesTable extends IConstruct {
  readonly keyspaceName: string;
  readonly tableName: string;
  readonly tableArn: string;
  /** `cassandra:Select`. */
  grantReadData(grantee: iam.IGrantable): iam.Grant;
  /** `cassandra:Select` and `cassandra:Modify`. */
  grantReadWriteData(grantee: iam.IGrantable): iam.Grant;
}

/** The ARN of a Keyspaces table or, without `table`, of a keyspace (which ends in a slash). */
export function keyspacesArn(scope: IConstruct, keyspace: string, table?: string): string {
  return Stack.of(scope).formatArn({
    service: 'cassandra',
    resource: '/keyspace',
    resourceName: table === undefined ? `${keyspace}/` : `${keyspace}/table/${table}`,
  });
}

/** `cassandra:Select` on the system tables every driver connection and the runtime read. */
export function grantKeyspacesSystemRead(scope: IConstruct, grantee: iam.IGrantable): iam.Grant {
  const resourceArns: string[] = [];
  for (const [keyspace, tables] of Object.entries(KEYSPACES_SYSTEM_TABLES)) {
    resourceArns.push(keyspacesArn(scope, keyspace));
    for (const table of tables) resourceArns.push(keyspacesArn(scope, keyspace, table));
  }
  return iam.Grant.addToPrincipal({ grantee, actions: ['cassandra:Select'], resourceArns });
}

class KeyspacesTable extends Construct implements IKeyspacesTable {
  readonly tableArn: string;
  constructor(
    scope: Construct,
    id: string,
    readonly keyspaceName: string,
    readonly tableName: string,
    readonly resource: cassandra.CfnTable,
  ) {
    super(scope, id);
    this.tableArn = keyspacesArn(this, keyspaceName, tableName);
  }

  grantReadData(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['cassandra:Select'],
      resourceArns: [this.tableArn],
    });
  }

  grantReadWriteData(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['cassandra:Select', 'cassandra:Modify'],
      resourceArns: [this.tableArn],
    });
  }
}

export interface KeyspacesSchemaProps {
  readonly keyspaceName: string;
  /** The typed tables to create, e.g. `TABLES` from `schema/`. */
  readonly tables: readonly TableDef[];
  /**
   * Default TTL per table in seconds, 0 for none.
   *
   * @default - each table's `defaultTtlSeconds`
   */
  readonly ttlSeconds?: Readonly<Record<string, number>>;
  /**
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
  /**
   * What stack deletion does to the keyspace and tables. A change that replaces a table (its primary key) fails
   * instead, since the new table would have the old one's name: docs/cloud.md, "Changes a deployed stage cannot
   * take in one deploy".
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class KeyspacesSchema extends Construct {
  readonly keyspaceName: string;
  readonly keyspace: cassandra.CfnKeyspace;
  private readonly tables = new Map<string, KeyspacesTable>();

  constructor(scope: Construct, id: string, props: KeyspacesSchemaProps) {
    super(scope, id);
    assertIdentifier('keyspace', props.keyspaceName);
    if (props.tables.length === 0)
      throw new Error('KeyspacesSchema tables is empty: pass the schema TABLES.');
    for (const [name, ttl] of Object.entries(props.ttlSeconds ?? {})) {
      if (!props.tables.some((t) => t.name === name)) {
        throw new Error(
          `KeyspacesSchema ttlSeconds names table '${name}', which is not in tables ` +
            `(${props.tables.map((t) => t.name).join(', ')}).`,
        );
      }
      if (!Token.isUnresolved(ttl) && (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS)) {
        throw new Error(
          `KeyspacesSchema ttlSeconds.${name} must be 0 to ${MAX_TTL_SECONDS} seconds, received ${ttl}.`,
        );
      }
    }
    this.keyspaceName = props.keyspaceName;
    const removal = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.keyspace = new cassandra.CfnKeyspace(this, 'Keyspace', {
      keyspaceName: props.keyspaceName,
      replicationSpecification: { replicationStrategy: 'SINGLE_REGION' },
    });
    this.keyspace.applyRemovalPolicy(removal);
    this.keyspace.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;

    for (const def of props.tables) {
      assertIdentifier('table', def.name);
      // The layout setup checks a local table against (schema/layout.ts), so that local and cloud tables agree.
      const layout = tableLayout(def);
      const ttl = props.ttlSeconds?.[def.name] ?? def.defaultTtlSeconds;
      const table = new cassandra.CfnTable(this, `Table-${def.name}`, {
        // The keyspace's Ref is its name: it also orders the table after the keyspace.
        keyspaceName: this.keyspace.ref,
        tableName: def.name,
        partitionKeyColumns: layout.partitionKey.map((c) => ({ columnName: c.name, columnType: c.type })),
        clusteringKeyColumns: layout.clustering.length
          ? layout.clustering.map((c) => ({
              column: { columnName: c.name, columnType: c.type },
              orderBy: c.order,
            }))
          : undefined,
        regularColumns: layout.regular.map((c) => ({ columnName: c.name, columnType: c.type })),
        billingMode: { mode: 'ON_DEMAND' },
        pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true,
        encryptionSpecification: { encryptionType: 'AWS_OWNED_KMS_KEY' },
        defaultTimeToLive: ttl > 0 ? ttl : undefined,
      });
      table.applyRemovalPolicy(removal);
      table.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;
      this.tables.set(
        def.name,
        new KeyspacesTable(this, `Grants-${def.name}`, props.keyspaceName, def.name, table),
      );
    }
  }

  /** The table of the schema named `name`; throws for a name the schema does not define. */
  table(name: string): IKeyspacesTable {
    const table = this.tables.get(name);
    if (!table) {
      throw new Error(
        `KeyspacesSchema has no table '${name}'; it has ${[...this.tables.keys()].join(', ')}.`,
      );
    }
    return table;
  }

  /** `cassandra:Select` on the system tables a driver connection and the runtime read. */
  grantSystemRead(grantee: iam.IGrantable): iam.Grant {
    return grantKeyspacesSystemRead(this, grantee);
  }
}
