/**
 * `PipelineFunction`: every Lambda function of the pipeline, built the same way.
 *
 * - Code: one bundle per function, built on this machine (never Docker) by the project's esbuild build
 *   (lib/bundle.ts: minified, CommonJS, for the Node.js 24 runtime), on arm64 (Graviton: about 20% cheaper per
 *   GB-second than x86). esbuild's API rather than CDK's `NodejsFunction`, whose command line cannot replace a
 *   module a dependency requires by a relative path (lib/bundle.ts says which, and what it saves).
 * - AWS SDK: v3 is bundled, not taken from the runtime, so that the SDK is the one the tests ran against. Only the
 *   redrive functions use it (the SQS client); the others sign with node:crypto (Keyspaces SigV4, MSK IAM) and
 *   carry no SDK at all. Stubs replace what a dependency loads but never runs here (`BUNDLE_ALIASES` and
 *   `MODULE_STUBS` in lib/bundle.ts), and the Cassandra driver is taken module by module
 *   (lambda/runtime/cassandra-driver.ts). Bundles on the data path are 300-380 KB (budget 500 KB), the redrive
 *   functions about 1 MB (`npm run bench` shows each one by dependency).
 *   SDK v2 (`aws-sdk`) is never needed: no handler or dependency imports it (the infra tests check the
 *   bundles), and it is marked external only so that an accidental import fails loudly instead of adding 10 MB.
 * - Cold start: after esbuild, each module function of the bundle is put in parentheses, so that V8 compiles it
 *   once instead of pre-parsing it and parsing it again when the import calls it (lib/eager-compile.ts): on
 *   Node.js 24, a cold import of each bundle 11–28% shorter.
 * - Logs: a log group of its own, with the configured retention, deleted with the stack.
 * - IAM: a role of its own with no managed policy. Its only built-in statement writes to its own log group
 *   (instead of AWSLambdaBasicExecutionRole, which allows every log group of the account). The function sees
 *   the role through `withoutPolicyUpdates()`, so constructs that bind to the function (event sources,
 *   destinations) cannot attach managed policies or broad statements behind our back: every permission is
 *   granted explicitly on `role`, where the tests can see it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The repository root: entries and the bundler are resolved from it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** The handler files a function may bundle: the handlers, the jobs, and the entries generated at synth. */
const ENTRY = /^(lambda\/handlers|lambda\/jobs|\.local\/entries)\/[a-z0-9-]+\.ts$/;

export { generatedEntry } from './entries';

/**
 * Bundles `entry` (relative to the project root) into `outputDir` for CDK's local bundling: the project's
 * esbuild build (lib/bundle.ts), run in a child process because it is asynchronous and CDK asks synchronously.
 * It runs on this machine, with the node that runs the CDK app; it never falls back to Docker.
 */
export function bundleLocally(entry: string, outputDir: string): true {
  const run = spawnSync(
    process.execPath,
    [path.join(PROJECT_ROOT, 'lib', 'bundle-cli.js'), entry, outputDir],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    },
  );
  const messages = (run.stderr ?? '').trim();
  if (run.status !== 0) {
    const how = run.error?.message ?? (run.signal ? `killed by ${run.signal}` : `exit ${run.status}`);
    throw new Error(`Bundling ${entry} failed (${how}): ${messages || 'no message'}`);
  }
  // A warning (a bundle left without the eager-compile step) is worth seeing, but the deployment goes on.
  if (messages) process.stderr.write(`${messages}\n`);
  return true;
}

/** The runtime of every function: Node.js 24, the newest Lambda offers (cdk-nag L1 asks for the newest). */
export const PIPELINE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Lambda's limit on a function's environment variables, names and values together: 4 KB. */
export const MAX_ENVIRONMENT_BYTES = 4096;

export interface PipelineFunctionProps {
  /** The handler file, relative to the repository root, exporting `handler`. */
  readonly entry: string;
  /** The log group's retention. */
  readonly logRetention: logs.RetentionDays;
  /**
   * @default - no description
   */
  readonly description?: string;
  /**
   * @default - no variables besides the ones Lambda sets
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * @default 512 - enough for the Cassandra driver and a 6 MB batch; more memory also means more CPU.
   */
  readonly memorySize?: number;
  /**
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * The VPC to attach the function to; give `securityGroups` with it.
   *
   * @default - not in a VPC: the function reaches public AWS endpoints only
   */
  readonly vpc?: ec2.IVpc;
  /**
   * @default - the VPC's private subnets (isolated included) when `vpc` is set
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * @default - no reserved concurrency: the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Required with `vpc`: the default security group of CDK allows all egress.
   *
   * @default - none (only valid without `vpc`)
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
}

export class PipelineFunction extends Construct {
  readonly function: lambda.Function;
  /** The execution role; grant every permission here. */
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    if (!ENTRY.test(props.entry) || !existsSync(path.join(PROJECT_ROOT, props.entry))) {
      throw new Error(
        `PipelineFunction entry must be an existing handler file under lambda/handlers/ or lambda/jobs/ (or a ` +
          `generated one under .local/entries/), received '${props.entry}'. Pass the path relative to the ` +
          'repository root, e.g. lambda/handlers/producer.ts.',
      );
    }
    if (props.memorySize !== undefined && !Token.isUnresolved(props.memorySize)) {
      if (props.memorySize < 128 || props.memorySize > 10_240) {
        throw new Error(
          `PipelineFunction memorySize must be from 128 to 10240 MB, received ${props.memorySize}.`,
        );
      }
    }
    const environmentBytes = Object.entries(props.environment ?? {}).map(
      ([name, value]) => [name, Buffer.byteLength(name) + Buffer.byteLength(value)] as const,
    );
    const total = environmentBytes.reduce((sum, [, bytes]) => sum + bytes, 0);
    // A token (an ARN, a URL) counts as its placeholder here, shorter than its value: the check catches what the
    // config puts in, e.g. a job's filter patterns in MICROBATCH_JOB_CONFIG.
    if (total > MAX_ENVIRONMENT_BYTES) {
      const [largest, bytes] = environmentBytes.reduce((a, b) => (b[1] > a[1] ? b : a));
      throw new Error(
        `PipelineFunction '${id}' environment is ${total} bytes, over Lambda's ${MAX_ENVIRONMENT_BYTES} for all ` +
          `variables together; its largest is ${largest} (${bytes} bytes). Make it smaller: ` +
          'MICROBATCH_JOB_CONFIG carries the job config, its filter patterns and options included.',
      );
    }
    if (props.vpc && (!props.securityGroups || props.securityGroups.length === 0)) {
      throw new Error(
        `PipelineFunction '${id}' is in a VPC but has no securityGroups: pass one that opens only what the ` +
          'function needs (the CDK default allows all egress).',
      );
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${this.node.path}`,
    });
    // The two actions Lambda needs to write its logs, on this function's log group only (the GetAtt ARN of a
    // log group ends in ':*', which covers its streams).
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    if (props.vpc) {
      // What AWSLambdaVPCAccessExecutionRole grants, inline: Lambda manages the function's ENIs with the
      // execution role. These EC2 actions support no resource-level scoping that Lambda's ENI management
      // works with, hence '*'. https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ManageVpcNetworkInterfaces',
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'A function in a VPC manages its ENIs with its execution role; the ec2 actions of ' +
          'AWSLambdaVPCAccessExecutionRole have no resource-level scoping ' +
          '(https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions).',
      });
    }

    this.function = new lambda.Function(this, 'Function', {
      code: lambda.Code.fromAsset(PROJECT_ROOT, {
        // The hash of the bundle, not of the repository: a change that leaves the bundle as it was redeploys nothing.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          local: { tryBundle: (outputDir) => bundleLocally(props.entry, outputDir) },
          // What Docker would run, in a Node.js 24 build image with the repository at /asset-input: the same
          // build. CDK turns to it only if the local bundling returns false, which it never does (it builds the
          // bundle or throws). The command also keys CDK's cache of bundled assets, which ignores `local`:
          // without the entry in it, every function of an app would get the first one's bundle.
          image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'),
          command: ['node', 'lib/bundle-cli.js', props.entry, '/asset-output'],
        },
      }),
      handler: 'index.handler',
      runtime: PIPELINE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      description: props.description,
      environment: props.environment ? { ...props.environment } : undefined,
      logGroup: this.logGroup,
      role: this.role.withoutPolicyUpdates(),
      vpc: props.vpc,
      vpcSubnets: props.vpc ? props.vpcSubnets : undefined,
      securityGroups: props.securityGroups,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
    });
    // The role is only reachable through an immutable view, so CDK does not know the function needs its
    // policy; Lambda checks the VPC and MSK permissions when the function and its event source are created.
    this.function.node.addDependency(this.role);
  }
}
