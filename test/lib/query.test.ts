import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import { BATCH_LEDGER, SENSOR_STATS, SENT_RECEIVED, TABLES } from '../../schema';
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
    const schema = new KeyspacesSchema(stack, 'Schema', { keyspaceName: 'ks', tables: TABLES });
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
      [SENT_RECEIVED, SENSOR_STATS, BATCH_LEDGER].map((table) => keyspacesTableArn(ks, table.name)).sort(),
    );
    expect(resourcesFor(statements, 'cassandra:Modify')).toEqual([]);
  });

  it('gets the sensor-stats window spec through the runtime contract', () => {
    expectTemplate(pipeline).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          MICROBATCH_TARGET: 'keyspaces',
          MICROBATCH_KEYSPACE: t.config.keyspace.name,
          MICROBATCH_JOB: 'sensor-stats',
          MICROBATCH_JOB_CONFIG: JSON.stringify(t.config.jobs['sensor-stats']),
          MICROBATCH_STAGE: t.config.stage,
        },
      },
    });
  });

  it('runs outside the VPC: it only talks to Keyspaces public TLS endpoint', () => {
    const fn = logicalId(pipeline, 'AWS::Lambda::Function', 'QueryHandler');
    expect(pipeline.toJSON()['Resources'][fn]['Properties']['VpcConfig']).toBeUndefined();
  });
});
