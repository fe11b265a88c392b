import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableLayout, type TableDef } from '../../schema';
import { KEYSPACES_SYSTEM_TABLES, KeyspacesSchema } from '../../lib/keyspaces';
import { expectTemplate, ALL_TABLES, CDK_CONTEXT, synthPipeline, type TestPipeline } from './support';

interface CfnColumn {
  readonly ColumnName: string;
  readonly ColumnType: string;
}

/** The properties of the table named `name` in the template. */
function tableProps(template: Template, name: string): Record<string, unknown> {
  const found = Object.values(
    template.findResources('AWS::Cassandra::Table', { Properties: { TableName: name } }),
  );
  expect(found).toHaveLength(1);
  return found[0]!['Properties'];
}

/** Expectations written from the schema alone, not from the construct's code. */
function expectedColumns(table: TableDef) {
  const type = new Map(table.columns.map((c) => [c.name, c.type as string]));
  const keys = new Set([...table.partitionKey, ...table.clustering.map((c) => c.name)]);
  return {
    partition: table.partitionKey.map((n) => ({ ColumnName: n, ColumnType: type.get(n) })),
    clustering: table.clustering.map((c) => ({
      Column: { ColumnName: c.name, ColumnType: type.get(c.name) },
      OrderBy: c.order,
    })),
    regular: table.columns
      .filter((c) => !keys.has(c.name))
      .map((c) => ({ ColumnName: c.name, ColumnType: c.type })),
    all: table.columns.map((c) => `${c.name}:${c.type}`).sort(),
  };
}

describe('KeyspacesSchema built from the typed schema, default config', () => {
  let t: TestPipeline;
  let keyspaces: Template;
  beforeAll(() => {
    t = synthPipeline();
    keyspaces = t.templates.keyspaces;
  });

  it('creates the configured keyspace in a single region', () => {
    expectTemplate(keyspaces).hasResourceProperties('AWS::Cassandra::Keyspace', {
      KeyspaceName: t.config.keyspace.name,
      ReplicationSpecification: { ReplicationStrategy: 'SINGLE_REGION' },
    });
  });

  it('creates one table per schema table, and no other', () => {
    const names = Object.values(keyspaces.findResources('AWS::Cassandra::Table')).map(
      (r) => r['Properties']['TableName'] as string,
    );
    expect(names.sort()).toEqual(ALL_TABLES.map((table) => table.name).sort());
  });

  describe.each(ALL_TABLES.map((table) => [table.name, table] as const))('table %s', (_name, table) => {
    it('has partition key columns equal to the schema, in order', () => {
      expect(tableProps(keyspaces, table.name)['PartitionKeyColumns']).toEqual(
        expectedColumns(table).partition,
      );
    });

    it('has clustering columns and order equal to the schema', () => {
      const clustering = tableProps(keyspaces, table.name)['ClusteringKeyColumns'];
      expect(clustering ?? []).toEqual(expectedColumns(table).clustering);
    });

    it('has regular columns equal to the schema', () => {
      expect(tableProps(keyspaces, table.name)['RegularColumns']).toEqual(expectedColumns(table).regular);
    });

    it('has exactly the columns of the schema, with their types', () => {
      const props = tableProps(keyspaces, table.name);
      const columns = [
        ...(props['PartitionKeyColumns'] as CfnColumn[]),
        ...((props['ClusteringKeyColumns'] as { Column: CfnColumn }[] | undefined) ?? []).map(
          (c) => c.Column,
        ),
        ...(props['RegularColumns'] as CfnColumn[]),
      ].map((c) => `${c.ColumnName}:${c.ColumnType}`);
      expect(columns.sort()).toEqual(expectedColumns(table).all);
    });

    it('has the layout `setup` holds a local table to (schema/layout.ts): local and cloud tables agree', () => {
      const props = tableProps(keyspaces, table.name);
      const column = (c: CfnColumn) => ({ name: c.ColumnName, type: c.ColumnType });
      const clustering = (props['ClusteringKeyColumns'] ?? []) as { Column: CfnColumn; OrderBy: string }[];
      expect({
        partitionKey: (props['PartitionKeyColumns'] as CfnColumn[]).map(column),
        clustering: clustering.map((c) => ({ ...column(c.Column), order: c.OrderBy })),
        regular: (props['RegularColumns'] as CfnColumn[]).map(column),
      }).toEqual(tableLayout(table));
    });

    it('has point-in-time recovery on, on-demand capacity and stated encryption', () => {
      expectTemplate(keyspaces).hasResourceProperties('AWS::Cassandra::Table', {
        TableName: table.name,
        PointInTimeRecoveryEnabled: true,
        BillingMode: { Mode: 'ON_DEMAND', ProvisionedThroughput: Match.absent() },
        AutoScalingSpecifications: Match.absent(),
        EncryptionSpecification: { EncryptionType: 'AWS_OWNED_KMS_KEY' },
      });
    });

    it('has the default TTL of keyspace.ttlSeconds', () => {
      const ttl = t.config.keyspace.ttlSeconds[table.name];
      expectTemplate(keyspaces).hasResourceProperties('AWS::Cassandra::Table', {
        TableName: table.name,
        DefaultTimeToLive: ttl > 0 ? ttl : Match.absent(),
      });
    });

    it('has no client-side timestamps: the runtime never writes USING TIMESTAMP', () => {
      expectTemplate(keyspaces).hasResourceProperties('AWS::Cassandra::Table', {
        TableName: table.name,
        ClientSideTimestampsEnabled: Match.absent(),
      });
    });
  });

  it('keeps the keyspace and the tables when the stack is deleted or a table replaced', () => {
    for (const type of ['AWS::Cassandra::Keyspace', 'AWS::Cassandra::Table']) {
      expectTemplate(keyspaces).allResources(type, {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
  });
});

describe('KeyspacesSchema with a tuned config', () => {
  let keyspaces: Template;
  beforeAll(() => {
    keyspaces = synthPipeline({
      context: {
        'keyspace.name': 'tutorial_prod',
        'keyspace.ttlSeconds.sent_received': '86400',
        'keyspace.pointInTimeRecovery': 'false',
        'keyspace.removalPolicy': 'destroy',
      },
    }).templates.keyspaces;
  });

  it('names the keyspace and the tables after the config', () => {
    expectTemplate(keyspaces).hasResourceProperties('AWS::Cassandra::Table', {
      KeyspaceName: { Ref: Match.anyValue() },
    });
    expectTemplate(keyspaces).hasResourceProperties('AWS::Cassandra::Keyspace', {
      KeyspaceName: 'tutorial_prod',
    });
  });

  it('overrides one table TTL', () => {
    expectTemplate(keyspaces).hasResourceProperties('AWS::Cassandra::Table', {
      TableName: 'sent_received',
      DefaultTimeToLive: 86_400,
    });
  });

  it('turns point-in-time recovery off when the config says so', () => {
    expectTemplate(keyspaces).allResourcesProperties('AWS::Cassandra::Table', {
      PointInTimeRecoveryEnabled: false,
    });
  });

  it('deletes the tables with the stack, but still retains them on replacement', () => {
    expectTemplate(keyspaces).allResources('AWS::Cassandra::Table', {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('KeyspacesSchema validation and grants', () => {
  function stack(): Stack {
    return new Stack(new App({ context: CDK_CONTEXT }), 'Test', {
      env: { account: '000000000000', region: 'us-east-1' },
    });
  }

  it('fails on a keyspace name Cassandra would refuse', () => {
    expect(() => new KeyspacesSchema(stack(), 'S', { keyspaceName: 'bad-name', tables: ALL_TABLES })).toThrow(
      /Invalid keyspace 'bad-name'/,
    );
  });

  it('fails on a TTL for a table the schema does not have', () => {
    expect(
      () =>
        new KeyspacesSchema(stack(), 'S', {
          keyspaceName: 'ks',
          tables: ALL_TABLES,
          ttlSeconds: { nope: 60 },
        }),
    ).toThrow(/ttlSeconds names table 'nope', which is not in tables/);
  });

  it('fails when asked for a table it does not define', () => {
    const schema = new KeyspacesSchema(stack(), 'S', { keyspaceName: 'ks', tables: ALL_TABLES });
    expect(() => schema.table('nope')).toThrow(
      /has no table 'nope'; it has page_view_counts, sensor_stats, sent_received/,
    );
  });

  it('grants read-only access with cassandra:Select on the table ARN alone', () => {
    // GIVEN
    const s = stack();
    const schema = new KeyspacesSchema(s, 'S', { keyspaceName: 'ks', tables: ALL_TABLES });
    const role = new iam.Role(s, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });

    // WHEN
    schema.table('batch_ledger').grantReadData(role);

    // THEN
    const statements = Object.values(Template.fromStack(s).findResources('AWS::IAM::Policy'))[0]![
      'Properties'
    ]['PolicyDocument']['Statement'];
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'cassandra:Select',
        Resource: 'arn:aws:cassandra:us-east-1:000000000000:/keyspace/ks/table/batch_ledger',
      },
    ]);
  });
});

describe('KEYSPACES_SYSTEM_TABLES, against the installed cassandra-driver', () => {
  const driver = join(__dirname, '..', '..', 'node_modules', 'cassandra-driver');
  const source = (file: string) => readFileSync(join(driver, 'lib', file), 'utf8');
  /** The `system*.table` a query constant of the driver's source reads, e.g. `selectPeers` -> system.peers. */
  const tableOf = (file: string, constant: string): string => {
    const match = new RegExp(`const ${constant} = "SELECT [^"]* FROM (system\\w*\\.\\w+)`).exec(source(file));
    if (!match) throw new Error(`cassandra-driver's lib/${file} has no query constant ${constant}`);
    return match[1]!;
  };

  it('is about driver 4.10, the version whose queries were read', () => {
    expect(JSON.parse(readFileSync(join(driver, 'package.json'), 'utf8')).version).toMatch(/^4\.10\./);
  });

  it('grants exactly the tables the driver reads on connect and for its schema metadata, plus the runtime fallback', () => {
    // GIVEN the queries the driver sends on connect, at topology refreshes and schema agreement, and for the
    // keyspace metadata it keeps in sync (the system_schema parser, as Keyspaces reports Cassandra 3.11)
    const driverReads = new Set([
      tableOf('control-connection.js', 'selectLocal'),
      tableOf('control-connection.js', 'selectPeers'),
      tableOf('metadata/index.js', '_selectSchemaVersionLocal'),
      tableOf('metadata/index.js', '_selectSchemaVersionPeers'),
      tableOf('metadata/schema-parser.js', '_selectAllKeyspacesV2'),
      tableOf('metadata/schema-parser.js', '_selectSingleKeyspaceV2'),
    ]);
    const granted = Object.entries(KEYSPACES_SYSTEM_TABLES).flatMap(([ks, tables]) =>
      tables.map((table) => `${ks}.${table}`),
    );

    // THEN the grant is those, and the runtime's own fallback read of the table status
    expect(granted.sort()).toEqual([...driverReads, 'system_schema_mcs.tables'].sort());
    expect(source('control-connection.js')).not.toContain('peers_v2');
  });
});
