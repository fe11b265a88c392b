import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import { BATCH_LEDGER, PAGE_VIEW_COUNTS, SENSOR_STATS, SENT_RECEIVED } from '../../schema';
import { KeyspacesSchema } from '../../lib/keyspaces';
import { QueryFunction } from '../../lib/query';
import {
  expectTemplate,
  keyspacesTableArn,
  logicalId,
  resourcesFor,
  roleStatements,
  synthPipeline,
  testApp,
  TEST_ENV,
  type TestPipeline,
  ALL_TABLES,
  JOB_NAMES,
} from './support';

describe('QueryFunction', () => {
  let t: TestPipeline;
  let pipeline: Template;
  beforeAll(() => {
    t = synthPipeline();
    pipeline = t.templates.pipeline;
  });

  it('answers behind a function URL that requires SigV4 (AWS_IAM)', () => {
    const fn = logicalId(pipeline, 'AWS::Lambda::Function', 'QueryHandler');
    expectTemplate(pipeline).hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      TargetFunctionArn: { 'Fn::GetAtt': [fn, 'Arn'] },
    });
    expectTemplate(pipeline).resourcePropertiesCountIs('AWS::Lambda::Url', { AuthType: 'NONE' }, 0);
  });

  it('publishes its URL, and the function ARN the callers need both invoke permissions on', () => {
    const fn = logicalId(pipeline, 'AWS::Lambda::Function', 'QueryHandler');
    expectTemplate(pipeline).hasOutput('*', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^QueryHandlerFunctionFunctionUrl'), 'FunctionUrl'] },
      Description: Match.stringLikeRegexp('lambda:InvokeFunctionUrl and lambda:InvokeFunction'),
    });
    expectTemplate(pipeline).hasOutput('*', { Value: { 'Fn::GetAtt': [fn, 'Arn'] } });
  });

  it('grants a caller both actions a new IAM function URL checks, each only through the URL', () => {
    // GIVEN a query function and a caller role granted its URL
    const stack = new Stack(testApp(), 'Test', { env: TEST_ENV });
    const schema = new KeyspacesSchema(stack, 'Schema', { keyspaceName: 'ks', tables: ALL_TABLES });
    const query = new QueryFunction(stack, 'Query', {
      tables: [schema.table(SENT_RECEIVED.name)],
      environment: {},
      logRetention: 7,
    });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    query.grantInvokeUrl(caller);
    const template = Template.fromStack(stack);
    const fn = logicalId(template, 'AWS::Lambda::Function', 'QueryHandler');

    // THEN its policy has InvokeFunctionUrl for AWS_IAM URLs and InvokeFunction via a function URL
    const statements = roleStatements(template, 'Caller');
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 'lambda:InvokeFunctionUrl',
          Resource: { 'Fn::GetAtt': [fn, 'Arn'] },
          Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
        }),
        expect.objectContaining({
          Action: 'lambda:InvokeFunction',
          Resource: { 'Fn::GetAtt': [fn, 'Arn'] },
          Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': true } },
        }),
      ]),
    );
    expect(statements).toHaveLength(2);
  });

  it('reads the results and the ledger, and writes nothing', () => {
    // GIVEN
    const statements = roleStatements(pipeline, 'QueryHandlerRole');
    const ks = t.config.keyspace.name;

    // THEN
    const tables = (resourcesFor(statements, 'cassandra:Select') as string[]).filter((r) =>
      r.includes(`/keyspace/${ks}/`),
    );
    expect(tables.sort()).toEqual(
      [SENT_RECEIVED, SENSOR_STATS, PAGE_VIEW_COUNTS, BATCH_LEDGER]
        .map((table) => keyspacesTableArn(ks, table.name))
        .sort(),
    );
    expect(resourcesFor(statements, 'cassandra:Modify')).toEqual([]);
  });

  it('knows every job through its view: table, key column and window, and no job code', () => {
    // GIVEN the function's environment
    const fn = logicalId(pipeline, 'AWS::Lambda::Function', 'QueryHandler');
    const variables = pipeline.toJSON()['Resources'][fn]['Properties']['Environment']['Variables'];

    // THEN it holds the keyspace and a view of each job, with the window of the config
    expect(variables).toMatchObject({
      MICROBATCH_TARGET: 'keyspaces',
      MICROBATCH_KEYSPACE: t.config.keyspace.name,
    });
    const views = JSON.parse(variables['MICROBATCH_QUERY_JOBS']) as Array<Record<string, unknown>>;
    expect(views.map((v) => v['name']).sort()).toEqual(JOB_NAMES.slice().sort());
    expect(views.find((v) => v['name'] === 'sensor-stats')).toEqual({
      name: 'sensor-stats',
      kind: 'window',
      topics: ['sensor-readings'],
      table: 'sensor_stats',
      keyColumn: 'sensor_id',
      window: { sizeMs: 60_000, slideMs: 60_000 },
    });
    expect(views.find((v) => v['name'] === 'sent-received')).toEqual({
      name: 'sent-received',
      kind: 'transform',
      topics: ['test'],
      table: 'sent_received',
      columns: ['time_sent', 'time_received'],
      key: ['time_sent'],
    });
  });

  it('runs outside the VPC: it only talks to Keyspaces public TLS endpoint', () => {
    const fn = logicalId(pipeline, 'AWS::Lambda::Function', 'QueryHandler');
    expect(pipeline.toJSON()['Resources'][fn]['Properties']['VpcConfig']).toBeUndefined();
  });
});
