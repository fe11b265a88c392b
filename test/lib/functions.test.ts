import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { PipelineFunction, type PipelineFunctionProps } from '../../lib/functions';
import { expectTemplate, CDK_CONTEXT, actionsOf, roleStatements } from './support';

function build(props: Partial<PipelineFunctionProps> & { inVpc?: boolean } = {}) {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { account: '000000000000', region: 'us-east-1' } });
  const vpc = props.inVpc ? new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 }) : undefined;
  const { inVpc, ...rest } = props;
  void inVpc;
  const fn = new PipelineFunction(stack, 'Fn', {
    entry: 'lambda/handlers/producer.ts',
    logRetention: 14,
    ...(vpc ? { vpc, securityGroups: [new ec2.SecurityGroup(stack, 'Sg', { vpc })] } : {}),
    ...rest,
  });
  return { stack, fn, template: () => Template.fromStack(stack) };
}

describe('PipelineFunction', () => {
  it('runs on Node.js 24, arm64, with the handler export of the entry', () => {
    expectTemplate(build().template()).hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 60,
    });
  });

  it('has a role with no managed policy, writing only to its own log group', () => {
    // GIVEN
    const template = build().template();
    const logs = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0]!;

    // THEN
    expectTemplate(template).hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    expect(roleStatements(template, 'FnRole')).toEqual([
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logs, 'Arn'] },
      },
    ]);
    expectTemplate(template).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  });

  it('adds the ENI actions of a VPC function, and nothing else, when in a VPC', () => {
    const statements = roleStatements(build({ inVpc: true }).template(), 'FnRole');
    expect(statements.filter((s) => s.Resource === '*').map(actionsOf)).toEqual([
      [
        'ec2:AssignPrivateIpAddresses',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:UnassignPrivateIpAddresses',
      ],
    ]);
  });

  it('is created after its role policy, which the function cannot see', () => {
    const template = build().template();
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0]!;
    expect(fn['DependsOn']).toEqual(expect.arrayContaining([expect.stringMatching(/^FnRoleDefaultPolicy/)]));
  });

  it('ignores grants made through the function: they must go to its role, where they are visible', () => {
    // GIVEN
    const { fn, template } = build();

    // WHEN a construct grants to the function rather than to its role
    fn.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));

    // THEN
    expect(roleStatements(template(), 'FnRole').flatMap(actionsOf)).not.toContain('s3:GetObject');
  });

  it('fails on an entry outside lambda/handlers and lambda/jobs', () => {
    expect(() => build({ entry: 'lib/app.ts' })).toThrow(
      /PipelineFunction entry must be an existing handler file under lambda\/handlers\/ or lambda\/jobs\/.*received 'lib\/app.ts'/,
    );
  });

  it('fails on an entry that does not exist, so a typo does not surface as a bundling error', () => {
    expect(() => build({ entry: 'lambda/jobs/no-such-job.ts' })).toThrow(
      /received 'lambda\/jobs\/no-such-job.ts'/,
    );
  });

  it("fails on an environment over Lambda's 4 KB, naming the largest variable", () => {
    // GIVEN variables of 4,096 bytes with their names, then one byte more
    const environment = (extra: number) => ({
      SMALL: 'x',
      MICROBATCH_JOB_CONFIG: 'y'.repeat(4096 - 27 + extra),
    });
    expect(() => build({ environment: environment(0) })).not.toThrow();

    // THEN
    expect(() => build({ environment: environment(1) })).toThrow(
      /PipelineFunction 'Fn' environment is 4097 bytes, over Lambda's 4096 .*its largest is MICROBATCH_JOB_CONFIG \(4091 bytes\)/,
    );
  });

  it('fails on a memory size Lambda refuses', () => {
    expect(() => build({ memorySize: 64 })).toThrow(/memorySize must be from 128 to 10240 MB, received 64/);
  });

  it('fails in a VPC without a security group of its own', () => {
    const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Test');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    expect(
      () =>
        new PipelineFunction(stack, 'Fn', { entry: 'lambda/handlers/producer.ts', logRetention: 14, vpc }),
    ).toThrow(/is in a VPC but has no securityGroups/);
  });
});
