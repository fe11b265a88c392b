/**
 * The handlers as Lambda gets them: each function's entry (`handlerEntries`) is bundled by the project's own
 * `PipelineFunction` construct (lib/functions.ts) in a throwaway CDK app, so the bundle is byte for byte the one
 * `cdk deploy` uploads (same esbuild options, externals and feature flags), never a re-typed copy of them.
 * Then each bundle is required by fresh `node` processes, and the median import time is its cold import time.
 * Lambda requires a handler from its runtime, which has loaded some of Node's built-in modules by then
 * (`LAMBDA_RUNTIME_BUILTINS`): the cold import is timed after those, as in Lambda, and in a bare process beside it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { basename, join } from 'node:path';
import { redriveEntry } from '../lib/entries';
import { JOBS_DIR } from '../lambda/runtime/registry';
import { nodeVersion } from './machine';
import { median, round1 } from './stats';

/** What one package (or the project's own code) adds to a bundle, in bytes of minified output. */
export interface BundlePart {
  readonly name: string;
  readonly bytes: number;
}

export interface HandlerMeasure {
  readonly handler: string;
  readonly entry: string;
  readonly bytes: number;
  /**
   * The bundle by dependency, largest first (esbuild's metafile of the same build; `project` is this
   * repository's code). Empty if that build did not come out byte for byte the same as CDK's.
   */
  readonly breakdown: readonly BundlePart[];
  /**
   * Median time of `require(bundle)` in a fresh process that has loaded what the Lambda runtime loads before it
   * requires a handler (`LAMBDA_RUNTIME_BUILTINS`), ms: the import a cold start pays.
   */
  readonly importMs: number;
  /** The same in a bare process (nothing loaded before the bundle), ms; reports before it was measured lack it. */
  readonly bareImportMs?: number;
  /**
   * What the import time is made of, each a median over fresh processes of its own: requiring the Node.js built-in
   * modules the bundle requires (after the Lambda runtime's), compiling the bundle as the CommonJS loader does
   * (without running it), and the rest (`importMs` minus both): running the modules' top-level code, and compiling
   * the functions it calls.
   */
  readonly importParts: {
    readonly builtinsMs: number;
    readonly compileMs: number;
    readonly topLevelMs: number;
  };
  /** Median wall time of the whole fresh process (Node start, the runtime's modules, the require, exit), ms. */
  readonly processMs: number;
  readonly importRuns: readonly number[];
  /** Whether the bundle exports a `handler` function. */
  readonly exportsHandler: boolean;
}

export interface HandlersResult {
  readonly bundler: string;
  readonly bundleSeconds: number;
  readonly nodeForImport: string;
  readonly handlers: readonly HandlerMeasure[];
}

/**
 * What the CDK app deploys, by function: every job's file (its consumer, one per job of the registry), the other
 * handlers, and a redrive function (the generated entry that binds the redrive handler to a job's code, here
 * sent-received's; every job's is the same code around its own job).
 */
export function handlerEntries(root: string): string[] {
  const jobs = readdirSync(join(root, JOBS_DIR))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${JOBS_DIR}/${f}`);
  const handlers = readdirSync(join(root, 'lambda', 'handlers'))
    .filter((f) => f.endsWith('.ts') && f !== 'redrive.ts')
    .map((f) => `lambda/handlers/${f}`);
  const redrive = redriveEntry('sent-received', `${JOBS_DIR}/sent-received.ts`);
  return [...jobs, ...handlers, redrive].sort((a, b) => handlerName(a).localeCompare(handlerName(b)));
}

/** `lambda/jobs/page-views.ts` is `page-views`; a generated `redrive-sent-received` entry is `redrive`. */
export function handlerName(entry: string): string {
  const name = basename(entry, '.ts');
  return name.startsWith('redrive-') ? 'redrive' : name;
}

/** Synthesizes one stack per handler with `PipelineFunction`; returns each handler's bundled index.js. */
export async function bundleWithCdk(
  root: string,
  outDir: string,
  entries: readonly string[],
): Promise<Map<string, string>> {
  // Loaded here only: aws-cdk-lib takes seconds to load, and only this phase needs it.
  const { App, Stack } = await import('aws-cdk-lib');
  const logs = await import('aws-cdk-lib/aws-logs');
  const { PipelineFunction } = await import('../lib/functions.js');
  const context = (
    JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> }
  ).context;
  const app = new App({ outdir: outDir, context: context ?? {} });
  const stacks = entries.map((entry) => {
    const name = handlerName(entry);
    const stack = new Stack(app, `bench-${name}`, { env: { account: '000000000000', region: 'us-east-1' } });
    new PipelineFunction(stack, 'Handler', { entry, logRetention: logs.RetentionDays.ONE_WEEK });
    return { name, stackName: stack.stackName };
  });
  const assembly = app.synth();
  const out = new Map<string, string>();
  for (const { name, stackName } of stacks) {
    const template = assembly.getStackByName(stackName).template as {
      Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: unknown } } }>;
    };
    const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
    const key = fn?.Properties.Code?.S3Key;
    if (typeof key !== 'string')
      throw new Error(`No bundled Lambda function in the synthesized stack of ${name}.`);
    out.set(name, join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`, 'index.js'));
  }
  return out;
}

/** Runs bench/bundle-child.ts: CDK's bundling prints to the console, and its library is large. */
function bundleInChild(root: string, outDir: string): Map<string, string> {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'bench', 'bundle-child.ts'), root, outDir],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (r.status !== 0)
    throw new Error(
      `Bundling the handlers with CDK failed: ${(r.stderr || r.error?.message || '').slice(-4000)}`,
    );
  const lastLine = r.stdout.trim().split('\n').pop() ?? '{}';
  return new Map(Object.entries(JSON.parse(lastLine) as Record<string, string>));
}

/**
 * The Node.js built-in modules the Lambda runtime has loaded when it requires the handler: the runtime interface
 * client AWS publishes for Node.js (aws-lambda-ric, read at 3.3.0; the managed runtime runs the same files from
 * /var/runtime, where its stack traces point) loads them at start, before `UserFunction.load`: `http`
 * (RAPIDClient.js, the Runtime API's client), `net` (ResponseStream.js), `fs`, `module` and `path` (UserFunction.js,
 * which finds and requires the handler), `util` (Errors.js, LogPatch.js) and `assert` (InvokeContext.js). https://github.com/aws/aws-lambda-nodejs-runtime-interface-client/tree/main/src
 */
export const LAMBDA_RUNTIME_BUILTINS: readonly string[] = [
  'assert',
  'fs',
  'http',
  'module',
  'net',
  'path',
  'util',
];

/** Requires the modules listed in argv[2] (JSON), then times requiring argv[1]. */
const IMPORT_PROBE =
  'for (const name of JSON.parse(process.argv[2])) require(name);' +
  'const t0 = process.hrtime.bigint();' +
  'const m = require(process.argv[1]);' +
  'const t1 = process.hrtime.bigint();' +
  "process.stdout.write(JSON.stringify({ ms: Number(t1 - t0) / 1e6, handler: typeof m.handler === 'function' }));";

/** Requires the modules listed in argv[2] (JSON), then times requiring those listed in argv[1], in order. */
const BUILTINS_PROBE =
  'for (const name of JSON.parse(process.argv[2])) require(name);' +
  'const t0 = process.hrtime.bigint();' +
  'for (const name of JSON.parse(process.argv[1])) require(name);' +
  'process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - t0) / 1e6 }));';

/** Compiles the file as the CommonJS loader wraps a module, without running it, and prints the time that took. */
const COMPILE_PROBE =
  "const { compileFunction } = require('node:vm');" +
  "const code = require('node:fs').readFileSync(process.argv[1], 'utf8');" +
  'const t0 = process.hrtime.bigint();' +
  "compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: process.argv[1] });" +
  'process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - t0) / 1e6 }));';

/** Node's built-in modules a bundle requires by name (`require("tls")`, `require("node:crypto")`), once each. */
export function builtinsRequired(code: string): string[] {
  const names = new Set<string>();
  for (const m of code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g))
    if (isBuiltin(m[1]!)) names.add(m[1]!);
  return [...names];
}

/**
 * Runs a probe script in a fresh Node process, with a clean environment like a new execution environment (no
 * loaders or options inherited from this process): what it printed, and the wall time of the whole process.
 */
function runProbe<T>(
  node: string,
  script: string,
  args: readonly string[],
  what: string,
): { printed: T; processMs: number } {
  const started = performance.now();
  const r = spawnSync(node, ['-e', script, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', NODE_ENV: 'production' },
  });
  const processMs = performance.now() - started;
  if (r.status !== 0)
    throw new Error(`${what} failed: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return { printed: JSON.parse(r.stdout) as T, processMs };
}

/**
 * Requires `file` in a fresh Node process, after the built-in modules `preloaded`: the time of the require alone,
 * and of the whole process.
 */
export function coldImport(
  file: string,
  node: string = process.execPath,
  preloaded: readonly string[] = [],
): { importMs: number; processMs: number; exportsHandler: boolean } {
  const { printed, processMs } = runProbe<{ ms: number; handler: boolean }>(
    node,
    IMPORT_PROBE,
    [file, JSON.stringify(preloaded)],
    `Importing ${file}`,
  );
  return { importMs: printed.ms, processMs, exportsHandler: printed.handler };
}

/** The package a bundled input file belongs to: `<name>` or `@scope/<name>` under node_modules, else `project`. */
export function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return 'project';
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/**
 * Builds `entry` again as PipelineFunction deploys it (lib/bundle.ts, `buildBundle`), and sums each package's bytes
 * in the output (`project` for the repository's own files and stubs). The code must be the same size as CDK's
 * bundle: otherwise the two builds differ, and no breakdown is given rather than a wrong one.
 */
export async function bundleBreakdown(root: string, entry: string, cdkBytes: number): Promise<BundlePart[]> {
  const { buildBundle } = await import('../lib/bundle.js');
  const { code, metafile } = await buildBundle(root, entry);
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  // The eager-compile step's parentheses (two bytes a module) are the only bytes the breakdown does not attribute.
  if (!output || Buffer.byteLength(code) !== cdkBytes) return [];
  const sums = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs))
    sums.set(packageOf(input), (sums.get(packageOf(input)) ?? 0) + bytesInOutput);
  return [...sums].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** The version of the node the cold imports run on: `--function-node`'s when given, not this process's. */
export function importNodeVersion(node: string | undefined): string {
  return node === undefined ? process.version : nodeVersion(node);
}

/** The measures, and where each handler's bundle is (under `outDir`, for the Lambda-sized runs). */
export async function measureHandlers(options: {
  readonly root: string;
  readonly outDir: string;
  readonly runs: number;
  /** The node binary the cold imports run on. @default - this process's */
  readonly node?: string;
  readonly onProgress?: (done: number, detail: string) => void;
}): Promise<{ readonly result: HandlersResult; readonly bundles: ReadonlyMap<string, string> }> {
  const entries = handlerEntries(options.root);
  const runtimeBuiltins = JSON.stringify(LAMBDA_RUNTIME_BUILTINS);
  const started = performance.now();
  const bundles = bundleInChild(options.root, options.outDir);
  const bundleSeconds = (performance.now() - started) / 1000;
  const handlers: HandlerMeasure[] = [];
  let done = 0;
  for (const entry of entries) {
    const name = handlerName(entry);
    const file = bundles.get(name)!;
    const imports: number[] = [];
    const bareImports: number[] = [];
    const processes: number[] = [];
    const builtins: number[] = [];
    const compiles: number[] = [];
    const builtinNames = JSON.stringify(builtinsRequired(readFileSync(file, 'utf8')));
    const node = options.node ?? process.execPath;
    let exportsHandler = true;
    for (let i = 0; i < options.runs; i++) {
      const r = coldImport(file, node, LAMBDA_RUNTIME_BUILTINS);
      imports.push(r.importMs);
      processes.push(r.processMs);
      exportsHandler &&= r.exportsHandler;
      bareImports.push(coldImport(file, node).importMs);
      builtins.push(
        runProbe<{ ms: number }>(
          node,
          BUILTINS_PROBE,
          [builtinNames, runtimeBuiltins],
          `Requiring ${builtinNames}`,
        ).printed.ms,
      );
      compiles.push(runProbe<{ ms: number }>(node, COMPILE_PROBE, [file], `Compiling ${file}`).printed.ms);
      options.onProgress?.(++done, name);
    }
    const importMs = round1(median(imports));
    const bytes = statSync(file).size;
    handlers.push({
      handler: name,
      entry,
      bytes,
      breakdown: await bundleBreakdown(options.root, entry, bytes),
      importMs,
      bareImportMs: round1(median(bareImports)),
      importParts: {
        builtinsMs: round1(median(builtins)),
        compileMs: round1(median(compiles)),
        topLevelMs: round1(Math.max(0, importMs - median(builtins) - median(compiles))),
      },
      processMs: round1(median(processes)),
      importRuns: imports.map(round1),
      exportsHandler,
    });
  }
  return {
    result: {
      bundler: 'PipelineFunction (lib/functions.ts) via CDK synth',
      bundleSeconds: round1(bundleSeconds),
      nodeForImport: importNodeVersion(options.node),
      handlers,
    },
    bundles,
  };
}
