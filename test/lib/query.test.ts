import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { BATCH_LEDGER, SENSOR_STATS, SENT_RECEIVED } from '../../schema';
import {
  expectTemplate,
  keyspacesTableArn,
  logicalId,
  resourcesFor,
  roleStatements,
  synthPipeline,
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

  it('publishes its URL as a stack output', () => {
    expectTemplate(pipeline).hasOutput('*', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^QueryHandlerFunctionFunctionUrl'), 'FunctionUrl'] },
    });
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
