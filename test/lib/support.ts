/**
 * Helpers for the infra tests: an app built like `bin/app.ts` (same cdk.json context and feature flags, a
 * fixed placeholder environment), templates with asset hashes normalised, and ARN flattening for assertions.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildPipeline, configFromContext, type PipelineStacks } from '../../lib/app';
import type { PipelineConfig } from '../../config';
import { SHIPPED_JOBS } from '../support/jobs';

const ROOT = join(__dirname, '..', '..');

/**
 * The context the CDK CLI gives the app: cdk.json's (feature flags, defaults) and cdk.context.json's (the
 * placeholder account's AZs, as a lookup would have cached them).
 */
export const CDK_CONTEXT: Readonly<Record<string, unknown>> = {
  ...(JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
    .context,
  ...(JSON.parse(readFileSync(join(ROOT, 'cdk.context.json'), 'utf8')) as Record<string, unknown>),
};

/** The placeholder environment of the offline synth (its AZs are in cdk.context.json). */
export const TEST_ENV = { account: '000000000000', region: 'us-east-1' } as const;

export { ALL_TABLES, ALL_TOPICS, JOB_NAMES, SHIPPED_JOBS, shippedJob } from '../support/jobs';

export interface TestAppOptions {
  /** Extra context, as `-c key=value` would give it (flat dotted keys). */
  readonly context?: Readonly<Record<string, unknown>>;
  /**
   * Bundle the Lambda code with esbuild. Off by default: bundling costs seconds per function, and only the
   * tests about the bundles themselves need it (CDK then stages a placeholder asset).
   */
  readonly bundle?: boolean;
}

export function testApp(options: TestAppOptions = {}): App {
  return new App({
    context: {
      ...CDK_CONTEXT,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}

export interface TestPipeline {
  readonly app: App;
  readonly config: PipelineConfig;
  readonly stacks: PipelineStacks;
  readonly templates: Readonly<Record<keyof PipelineStacks, Template>>;
}

/** The whole app, as `bin/app.ts` builds it, with its templates (synthesized once). */
export function synthPipeline(options: TestAppOptions = {}): TestPipeline {
  const app = testApp(options);
  const jobs = SHIPPED_JOBS;
  const config = configFromContext(app, jobs);
  const stacks = buildPipeline(app, config, jobs, TEST_ENV);
  const templates = {
    network: Template.fromStack(stacks.network),
    kafka: Template.fromStack(stacks.kafka),
    keyspaces: Template.fromStack(stacks.keyspaces),
    pipeline: Template.fromStack(stacks.pipeline),
  };
  return { app, config, stacks, templates };
}

/** Replaces every 64-hex asset hash, so that a snapshot does not change with a Lambda's source. */
export function normaliseAssetHashes<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replace(/[0-9a-f]{64}/g, '<asset-hash>')) as T;
}

/**
 * Renders a CloudFormation string expression as text: literals as they are, `Fn::Join` concatenated, and any
 * other intrinsic as `${<name>}` (e.g. `${Fn::Select}`), so an ARN built with tokens reads like a pattern.
 */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, args] = entries[0]!;
      if (fn === 'Fn::Join' && Array.isArray(args) && Array.isArray(args[1])) {
        return (args[1] as unknown[]).map(flatten).join(String(args[0]));
      }
      if (fn === 'Ref') return `\${${String(args)}}`;
      return `\${${fn}}`;
    }
  }
  return JSON.stringify(value);
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** The statements of the inline policies attached to a role, by the role's logical ID prefix. */
export function roleStatements(template: Template, rolePrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => (p['Properties']['Roles'] as { Ref: string }[]).some((r) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p['Properties']['PolicyDocument']['Statement'] as Statement[]);
}

/** The actions of a statement as a sorted list. */
export function actionsOf(statement: Statement): string[] {
  return (Array.isArray(statement.Action) ? statement.Action : [statement.Action]).slice().sort();
}

/** The resources of a statement, flattened to text. */
export function resourcesOf(statement: Statement): string[] {
  const r = statement.Resource;
  return (Array.isArray(r) ? r : [r]).map(flatten);
}

/** The logical ID of the only resource of `type` whose ID starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(`Expected one ${type} starting with ${prefix}, found ${ids.join(', ')}`);
  return ids[0]!;
}

export function stackTemplate(stack: Stack): Template {
  return Template.fromStack(stack);
}

/**
 * The ARN of an MSK topic or group as the stacks build it: the cluster name as a literal, the cluster UUID as the
 * expression `clusterUuid` (in the Kafka stack, the Select of its ARN; elsewhere, the SSM parameter's Ref).
 */
export function mskResourceArn(
  clusterUuid: unknown,
  kind: 'topic' | 'group',
  name: string,
  clusterName = 'dev-microbatch',
  env = TEST_ENV,
): unknown {
  return {
    'Fn::Join': [
      '',
      [`arn:aws:kafka:${env.region}:${env.account}:${kind}/${clusterName}/`, clusterUuid, `/${name}`],
    ],
  };
}

/** In the Kafka stack, the cluster's UUID: the last part of its ARN. */
export function clusterUuidOf(clusterArn: unknown): unknown {
  return { 'Fn::Select': [2, { 'Fn::Split': ['/', clusterArn] }] };
}

/**
 * The `Ref` of the `AWS::SSM::Parameter::Value<String>` parameter of `template` that reads the SSM parameter
 * named `name`, e.g. `/microbatch/dev/kafka/cluster-arn`.
 */
export function ssmParameterRef(template: Template, name: string): { Ref: string } {
  const parameters = (template.toJSON()['Parameters'] ?? {}) as Record<
    string,
    { Type: string; Default?: string }
  >;
  const ids = Object.entries(parameters)
    .filter(([, p]) => p.Type === 'AWS::SSM::Parameter::Value<String>' && p.Default === name)
    .map(([id]) => id);
  if (ids.length !== 1)
    throw new Error(`Expected one parameter reading SSM ${name}, found ${ids.join(', ')}`);
  return { Ref: ids[0]! };
}

/** The ARN of a Keyspaces table (or keyspace, without `table`) in the test environment. */
export function keyspacesTableArn(keyspace: string, table?: string, env = TEST_ENV): string {
  const base = `arn:aws:cassandra:${env.region}:${env.account}:/keyspace/${keyspace}/`;
  return table === undefined ? base : `${base}table/${table}`;
}

/** The statements granting exactly `actions` (sorted comparison). */
export function statementsWithActions(
  statements: readonly Statement[],
  actions: readonly string[],
): Statement[] {
  const want = [...actions].sort().join(',');
  return statements.filter((s) => actionsOf(s).join(',') === want);
}

/** Every resource a role may use `action` on, across its statements (merged statements included). */
export function resourcesFor(statements: readonly Statement[], action: string): unknown[] {
  return statements
    .filter((s) => actionsOf(s).includes(action))
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
}

/**
 * Marks a template assertion as one: `expectTemplate(t).hasResourceProperties(...)` reads as the assertion it
 * is (the `Template` methods throw on a mismatch), and the linter's expect-expect rule sees an `expect*` call.
 */
export function expectTemplate(template: Template): Template {
  return template;
}

/** The project's own cfn-lint, pinned in scripts/cfn-lint-requirements.txt. */
export const CFN_LINT = join(ROOT, '.local', 'cfn-lint', 'bin', 'cfn-lint');

/** One cfn-lint finding, as `Rule file:line message`. */
export type CfnLintFinding = string;

/**
 * Runs cfn-lint with the repository's `.cfnlintrc.yaml` on `templates` and returns its findings (errors,
 * warnings and informational ones alike). Throws when cfn-lint is missing or cannot run, naming the fix.
 */
export function cfnLint(templates: readonly string[]): CfnLintFinding[] {
  if (!existsSync(CFN_LINT)) {
    throw new Error(
      `cfn-lint is not installed at ${CFN_LINT}: run bash scripts/ensure-cfn-lint.sh (npm test and npm run test:unit run it first)`,
    );
  }
  const run = spawnSync(
    CFN_LINT,
    ['--config-file', join(ROOT, '.cfnlintrc.yaml'), '--format', 'json', '--', ...templates],
    { cwd: ROOT, encoding: 'utf8', timeout: 110_000 },
  );
  // Exit codes are a bit mask of the levels found (2 errors, 4 warnings, 8 informational); 1 is a failure of
  // cfn-lint itself. https://github.com/aws-cloudformation/cfn-lint#exit-codes
  if (run.error !== undefined || run.status === null || (run.status & 1) !== 0) {
    throw new Error(`cfn-lint failed to run (status ${run.status}): ${run.error?.message ?? run.stderr}`);
  }
  const findings = JSON.parse(run.stdout) as {
    Rule: { Id: string };
    Filename: string;
    Location: { Start: { LineNumber: number } };
    Message: string;
  }[];
  return findings.map(
    (f) => `${f.Rule.Id} ${f.Filename.replace(/^.*\//, '')}:${f.Location.Start.LineNumber} ${f.Message}`,
  );
}
