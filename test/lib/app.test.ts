import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../config';
import { parenthesizeModuleWrappers } from '../../lib/eager-compile';
import { PipelineChecks } from '../../lib/guardrails';
import { cfnLint, normaliseAssetHashes, synthPipeline, type TestPipeline } from './support';

const MODES = ['provisioned', 'serverless'] as const;
const STACKS = ['network', 'kafka', 'keyspaces', 'pipeline'] as const;
/** The bundle budget of a handler on the data path, minified (issue 12; `npm run bench` shows each one's parts). */
const MAX_BUNDLE_BYTES = 500 * 1024;
/**
 * The redrive functions' budget: they carry kafkajs, the Cassandra driver and the SQS client at once (about 1 MB,
 * of which the SDK's client core is a third). They run off the hot path (every 15 minutes or on demand), where a
 * cold start costs nothing that matters.
 */
const MAX_REDRIVE_BUNDLE_BYTES = 1100 * 1024;
/**
 * Text only code the functions never run contains: what each stub of BUNDLE_ALIASES and MODULE_STUBS
 * (lib/bundle.ts) replaces, the driver modules lambda/runtime/cassandra-driver.ts leaves out, and the local-only
 * Keyspaces-strict checks.
 */
const STUBBED = {
  "cassandra-driver's insights client": 'Default Node.js Application',
  "cassandra-driver's DataStax Astra support": 'Config file must include host and port information',
  'adm-zip (required by the Astra support only)': 'Invalid or unsupported zip format',
  "cassandra-driver's graph executor": 'gremlin-groovy',
  'the SDK default credential chain': 'Could not load credentials from any providers',
  bowser: 'getBrowserName',
  "cassandra-driver's object mapper": 'ModelBatchItem instances',
  'the Keyspaces-strict checks (local only)': 'Amazon Keyspaces would refuse this statement',
};

describe.each(MODES)('the app in %s mode, bundled as deployed', (mode) => {
  let t: TestPipeline;
  let outdir: string;
  beforeAll(() => {
    t = synthPipeline({ bundle: true, context: { 'kafka.mode': mode } });
    outdir = t.app.synth().directory;
  });

  it.each(STACKS)('matches the %s snapshot, whatever the Lambda sources hash to', (stack) => {
    expect(normaliseAssetHashes(t.templates[stack].toJSON())).toMatchSnapshot();
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    expect(new AwsSolutionsChecks().validateScope(t.app).violations).toEqual([]);
  });

  it('has no finding of the pipeline checks', () => {
    expect(new PipelineChecks().validateScope(t.app).violations).toEqual([]);
  });

  it('passes cfn-lint: no finding but the warnings .cfnlintrc.yaml ignores with their reason', () => {
    const templates = readdirSync(outdir)
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => join(outdir, f));
    expect(templates).toHaveLength(STACKS.length);
    expect(cfnLint(templates)).toEqual([]);
  });

  it('reads no value of another stack through a weak reference (Fn::GetStackOutput), which can go stale', () => {
    for (const stack of STACKS) {
      expect({
        stack,
        weak: JSON.stringify(t.templates[stack].toJSON()).includes('Fn::GetStackOutput'),
      }).toEqual({ stack, weak: false });
    }
  });

  it('prefixes every stack name with the stage', () => {
    expect(STACKS.map((s) => t.stacks[s].stackName)).toEqual([
      'dev-microbatch-network',
      'dev-microbatch-kafka',
      'dev-microbatch-keyspaces',
      'dev-microbatch-pipeline',
    ]);
  });

  describe('Lambda bundles', () => {
    /** Every handler of the app: its stack and logical ID, and its bundled index.js (`asset.<hash>/`). */
    function bundles(): { path: string; file: string }[] {
      return STACKS.flatMap((s) =>
        Object.entries(t.templates[s].findResources('AWS::Lambda::Function'))
          .filter(([id]) => id.includes('HandlerFunction'))
          .map(([id, fn]) => ({
            path: `${s}/${id}`,
            file: join(
              outdir,
              `asset.${String(fn['Properties']['Code']['S3Key']).replace(/\.zip$/, '')}`,
              'index.js',
            ),
          })),
      );
    }

    it('bundles every pipeline handler', () => {
      expect(
        bundles()
          .map((b) => b.path.replace(/HandlerFunction.*$/, ''))
          .sort(),
      ).toEqual(
        [
          'kafka/Topics',
          'pipeline/Consumerpageviews',
          'pipeline/Consumersensorstats',
          'pipeline/Consumersentreceived',
          'pipeline/Producer',
          'pipeline/Query',
          'pipeline/Redrivepageviews',
          'pipeline/Redrivesensorstats',
          'pipeline/Redrivesentreceived',
        ].sort(),
      );
      for (const b of bundles()) expect(existsSync(b.file)).toBe(true);
    });

    it('gives each handler the bundle of its own entry', () => {
      // GIVEN nine functions of nine entries WHEN bundled in one synth THEN nine bundles, each with its own job:
      // CDK caches bundled assets by their bundling options, and options that do not name the entry would hand
      // every function the first one's bundle.
      expect(new Set(bundles().map((b) => b.file)).size).toBe(bundles().length);
      const job = (path: string) =>
        /^pipeline\/(?:Consumer|Redrive)(pageviews|sensorstats|sentreceived)/.exec(path)?.[1];
      for (const b of bundles().filter((b) => job(b.path))) {
        const names = ['page-views', 'sensor-stats', 'sent-received'].filter((name) =>
          readFileSync(b.file, 'utf8').includes(`name:"${name}"`),
        );
        expect({ path: b.path, names }).toEqual({
          path: b.path,
          names: [
            ['page-views', 'sensor-stats', 'sent-received'].find((n) => n.replace('-', '') === job(b.path)),
          ],
        });
      }
    });

    it('keeps each bundle under 500 KB (a redrive function under 1.1 MB)', () => {
      for (const b of bundles()) {
        const budget = b.path.startsWith('pipeline/Redrive') ? MAX_REDRIVE_BUNDLE_BYTES : MAX_BUNDLE_BYTES;
        expect({ path: b.path, bytes: statSync(b.file).size < budget }).toEqual({
          path: b.path,
          bytes: true,
        });
      }
    });

    it('carries no code the functions never run: the stubs of lib/bundle.ts, no object mapper, no Keyspaces-strict checks', () => {
      for (const b of bundles()) {
        const code = readFileSync(b.file, 'utf8');
        const found = Object.entries(STUBBED)
          .filter(([, text]) => code.includes(text))
          .map(([what]) => what);
        expect({ path: b.path, found }).toEqual({ path: b.path, found: [] });
      }
    });

    it('has every module function in parentheses, so that V8 compiles each module once (lib/eager-compile.ts)', () => {
      for (const b of bundles()) {
        const { wrapped, alreadyEager, reason } = parenthesizeModuleWrappers(readFileSync(b.file, 'utf8'));
        // Nothing left to put in parentheses, and dozens of modules that are (86 in a consumer's bundle).
        expect({ path: b.path, wrapped, eager: alreadyEager > 50, reason }).toEqual({
          path: b.path,
          wrapped: 0,
          eager: true,
          reason: undefined,
        });
      }
    });

    it('never needs the AWS SDK v2', () => {
      for (const b of bundles()) {
        const code = readFileSync(b.file, 'utf8');
        expect({ path: b.path, v2: /require\(["']aws-sdk(\/[^"']*)?["']\)/.test(code) }).toEqual({
          path: b.path,
          v2: false,
        });
      }
    });

    it('carries no schema library: Standard Schema support costs nothing to a job that does not use one', () => {
      for (const b of bundles()) {
        const code = readFileSync(b.file, 'utf8');
        // Both libraries name themselves as the Standard Schema vendor, so the name is in any bundle holding them.
        expect({
          path: b.path,
          schemaLibrary: /vendor:\s*["'`](zod|valibot|arktype)["'`]/.test(code),
        }).toEqual({
          path: b.path,
          schemaLibrary: false,
        });
      }
    });

    it('carries the SDK v3 it uses instead of relying on the runtime', () => {
      for (const b of bundles()) {
        const code = readFileSync(b.file, 'utf8');
        expect({
          path: b.path,
          external: /require\(["']@aws-sdk\/(client-|credential-providers)/.test(code),
        }).toEqual({
          path: b.path,
          external: false,
        });
      }
    });
  });
});

describe('cfn-lint, as the suite runs it', () => {
  it('reports the error of a weak reference nested in Fn::Split, the way the topic ARNs were once built', () => {
    // GIVEN a template with that nesting
    const dir = mkdtempSync(join(tmpdir(), 'microbatch-cfn-lint-'));
    const template = join(dir, 'Nested.template.json');
    const clusterArn = { 'Fn::GetStackOutput': { StackName: 'kafka', OutputName: 'ClusterArn' } };
    const topicArn = {
      'Fn::Join': [
        '',
        [
          'arn:aws:kafka:us-east-1:000000000000:topic/',
          { 'Fn::Select': [1, { 'Fn::Split': ['/', clusterArn] }] },
          '/test',
        ],
      ],
    };
    writeFileSync(
      template,
      JSON.stringify({
        Resources: {
          Topic: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: topicArn } },
        },
      }),
    );
    try {
      // THEN cfn-lint, with the repository's settings, finds it: the check above can fail
      expect(cfnLint([template])).toEqual([expect.stringMatching(/^E1022 Nested\.template\.json:/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the app config', () => {
  it('renames stacks and the cluster after the stage', () => {
    const t = synthPipeline({ context: { stage: 'prod' } });
    expect(t.stacks.pipeline.stackName).toBe('prod-microbatch-pipeline');
    t.templates.kafka.hasResourceProperties('AWS::MSK::Cluster', { ClusterName: 'prod-microbatch' });
  });

  it('fails on an unknown Kafka mode, naming key, value and the allowed values', () => {
    expect(() => synthPipeline({ context: { 'kafka.mode': 'kraft' } })).toThrow(ConfigError);
    expect(() => synthPipeline({ context: { 'kafka.mode': 'kraft' } })).toThrow(
      /Invalid config 'kafka.mode': received "kraft"; expected one of provisioned, serverless/,
    );
  });

  it('fails on a stage that cannot prefix resource names', () => {
    expect(() => synthPipeline({ context: { stage: 'Prod_1' } })).toThrow(
      /Invalid config 'stage': received "Prod_1"/,
    );
  });

  it('fails on a log retention CloudWatch does not offer', () => {
    expect(() => synthPipeline({ context: { logRetentionDays: '10' } })).toThrow(
      /Invalid config 'logRetentionDays': received "10"; expected one of 1, 3, 5, 7, 14/,
    );
  });

  it('fails synth on an unacknowledged cdk-nag finding', () => {
    // GIVEN the app with a queue that breaks two AwsSolutions rules
    const t = synthPipeline();
    new sqs.Queue(t.stacks.pipeline, 'Careless');

    // THEN synthesis refuses it
    expect(() => t.app.synth({ force: true })).toThrow(/SQS queue does not require requests to use SSL/);
  });
});
