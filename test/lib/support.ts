/**
 * Helpers for the infra tests: an app built like `bin/app.ts` (same cdk.json context and feature flags, a
 * fixed placeholder environment), templates with asset hashes normalised, and ARN flattening for assertions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildPipeline, configFromContext, type PipelineStacks } from '../../lib/app';
import type { PipelineConfig } from '../../lib/config';

/** The context of cdk.json: feature flags, defaults and the placeholder account's AZs. */
export const CDK_CONTEXT: Readonly<Record<string, unknown>> = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;

/** The placeholder environment of the offline synth (its AZs are in cdk.json). */
export const TEST_ENV = { account: '000000000000', region: 'us-east-1' } as const;

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
  const config = configFromContext(app);
  const stacks = buildPipeline(app, config, TEST_ENV);
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

/** The ARN of an MSK topic or group as the stacks build it from the cluster ARN expression. */
export function mskResourceArn(
  clusterArn: unknown,
  kind: 'topic' | 'group',
  name: string,
  env = TEST_ENV,
): unknown {
  const part = (i: number) => ({ 'Fn::Select': [i, { 'Fn::Split': ['/', clusterArn] }] });
  return {
    'Fn::Join': [
      '',
      [`arn:aws:kafka:${env.region}:${env.account}:${kind}/`, part(1), '/', part(2), `/${name}`],
    ],
  };
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
