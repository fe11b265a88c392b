/**
 * How a Lambda bundle is built: one set of esbuild options, used by `PipelineFunction` (lib/functions.ts) for what
 * it deploys and by `npm run bench` for its per-dependency breakdown.
 *
 * esbuild's API instead of the command line that CDK's `NodejsFunction` runs, for one thing the command line cannot
 * do: replace a module a dependency requires by a relative path. esbuild's `alias` only maps package paths
 * (https://esbuild.github.io/api/#alias), and cassandra-driver's client requires its insights client, its DataStax
 * Astra (`cloud`) support and its graph executor as `./insights-client` and the like, at start, although the
 * functions never run them. `MODULE_STUBS` replaces them, through a resolve plugin
 * (https://esbuild.github.io/plugins/#on-resolve): 34 KB and 7–10 ms less of a consumer's cold import on Node.js
 * 24 (the modules, and the `https` and `adm-zip` the Astra code pulls in; bench/README.md, the runs of 13:25).
 *
 * After esbuild, each module function of the bundle is put in parentheses so that V8 compiles it once
 * (lib/eager-compile.ts). A bundle that step cannot read is written as esbuild made it, with a warning: the rewrite
 * is an optimisation, never a reason for a deployment to fail.
 */
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BuildOptions, Metafile, Plugin } from 'esbuild';
import { eagerCompile } from './eager-compile';

/** esbuild's target for the bundles: the runtime's Node.js version (lib/functions.ts, `PIPELINE_RUNTIME`). */
export const BUNDLE_TARGET = 'node24';

/**
 * Modules the bundles must not contain. `aws-sdk` is v2 (end of support); `avro-js` and `protobufjs` are the
 * optional deserializers of `@aws-lambda-powertools/kafka`, which the handlers do not use.
 */
export const EXTERNAL_MODULES: readonly string[] = ['aws-sdk', 'avro-js', 'protobufjs'];

/**
 * Packages replaced in the bundles by a stub (relative to the project root): code a dependency loads but never
 * runs in these functions. Each stub throws, naming this list, if that ever changes. Measured with
 * `npm run bench` (its per-dependency breakdown):
 * - `@aws-sdk/credential-provider-node` (with the STS and SSO clients and the other providers it pulls, about
 *   100 KB): the SDK's default credential chain, which an SDK client consults only when it is given no
 *   `credentials`; the functions give theirs from the environment (lambda/runtime/aws-credentials.ts);
 * - `bowser` (34 KB): a browser user-agent parser that @aws-sdk/core loads only in a browser.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambda/runtime/stubs/credential-provider-node.js',
  bowser: './lambda/runtime/stubs/bowser.js',
};

/**
 * Modules of a dependency, required by a relative path, replaced in the bundles by a stub (relative to the project
 * root), keyed by their file under `node_modules`. cassandra-driver's client requires each at start:
 * - the insights client reports to DataStax Enterprise 6.7 and later only; against Cassandra or Keyspaces its
 *   `init()` finds no DSE host and does nothing, as the stub's does;
 * - the Astra support (`cloud`) runs only with `cloud.secureConnectBundle`, an option the functions never set;
 *   it alone pulls `https` and `adm-zip`;
 * - the graph executor runs only for `client.executeGraph()`, a DSE Graph call the functions never make.
 * The stubs fail with their reason if any of that changes, and the build fails if a bundle carries the client
 * but not every stub of its package (a driver upgrade that moved a module).
 */
export const MODULE_STUBS: Readonly<Record<string, string>> = {
  'cassandra-driver/lib/insights-client.js': './lambda/runtime/stubs/cassandra-driver/insights-client.js',
  'cassandra-driver/lib/datastax/cloud/index.js': './lambda/runtime/stubs/cassandra-driver/cloud.js',
  'cassandra-driver/lib/datastax/graph/graph-executor.js':
    './lambda/runtime/stubs/cassandra-driver/graph-executor.js',
};

/** The module whose presence in a bundle means the stubs of its package must all have been used. */
const STUBBED_MODULES_IMPORTER: Readonly<Record<string, string>> = {
  'cassandra-driver': 'cassandra-driver/lib/client.js',
};

/** Why a bundle could not be built: esbuild's own errors, or a stub that no longer matches its dependency. */
export class BundleError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BundleError';
  }
}

const packageOfStub = (key: string): string => key.split('/')[0]!;

/** `file` through any symlink on its way, or as it is if it does not exist. */
function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/**
 * The real path of `<root>/node_modules/<module>`. esbuild resolves and reports every module by its real path, so
 * with a symlinked `node_modules` (pnpm's layout, a linked checkout) the path under `root` would match nothing: the
 * stubs would silently not apply, and `missingStubs` would not see the importer to say so.
 */
function nodeModulePath(root: string, module: string): string {
  const [name, ...rest] = module.split('/');
  return path.join(realPath(path.join(root, 'node_modules', name!)), ...rest);
}

/** The resolve plugin that puts `MODULE_STUBS` in place of the modules they replace. */
function moduleStubs(root: string): Plugin {
  const stubs = new Map(
    Object.entries(MODULE_STUBS).map(([module, stub]) => [
      nodeModulePath(root, module),
      path.join(root, stub),
    ]),
  );
  const packageDirs = [...new Set(Object.keys(MODULE_STUBS).map(packageOfStub))].map(
    (name) => nodeModulePath(root, name) + path.sep,
  );
  // esbuild runs a plugin's callback for every import its filter matches, a round trip to this process each: the
  // filter only lets through relative imports ending in a stubbed module's name (`./insights-client`,
  // `./datastax/cloud`), not the thousand other relative imports of a bundle.
  const names = Object.keys(MODULE_STUBS).map((module) =>
    path.posix.basename(module.replace(/\/index\.js$/, ''), '.js').replace(/[^\w-]/g, '\\$&'),
  );
  const filter = new RegExp(`^\\.\\.?/(?:.*/)?(?:${names.join('|')})(?:\\.js|/index\\.js)?$`);
  return {
    name: 'module-stubs',
    setup(build) {
      build.onResolve({ filter }, async (args) => {
        // `pluginData` marks the resolution this callback asks esbuild for below, which must not come back here.
        if (args.pluginData === moduleStubs || !packageDirs.some((dir) => args.importer.startsWith(dir)))
          return;
        const resolved = await build.resolve(args.path, {
          importer: args.importer,
          resolveDir: args.resolveDir,
          kind: args.kind,
          pluginData: moduleStubs,
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        const stub = stubs.get(resolved.path);
        return stub ? { path: stub } : resolved;
      });
    },
  };
}

/** The esbuild options of the bundle of `entry` (relative to `root`): what is deployed is built with exactly these. */
export function bundleOptions(root: string, entry: string): BuildOptions & { metafile: true; write: false } {
  return {
    absWorkingDir: root,
    entryPoints: [path.join(root, entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: BUNDLE_TARGET,
    minify: true,
    // Third-party licence banners are not code; keep them out of the bundle size.
    legalComments: 'none',
    external: [...EXTERNAL_MODULES],
    alias: { ...BUNDLE_ALIASES },
    plugins: [moduleStubs(root)],
    outfile: path.join(root, 'index.js'),
    write: false,
    metafile: true,
    logLevel: 'silent',
  };
}

/**
 * The stubs a bundle should have used but did not: for each package with stubs whose importer the bundle carries,
 * the stubbed modules that are not among its inputs (the driver moved or renamed them).
 */
export function missingStubs(root: string, metafile: Metafile): string[] {
  const inputs = new Set(Object.keys(metafile.inputs).map((input) => realPath(path.resolve(root, input))));
  return Object.entries(MODULE_STUBS)
    .filter(([module]) => {
      const importer = STUBBED_MODULES_IMPORTER[packageOfStub(module)];
      return importer !== undefined && inputs.has(nodeModulePath(root, importer));
    })
    .filter(([, stub]) => !inputs.has(realPath(path.join(root, stub))))
    .map(([module]) => module);
}

/** A bundle as it is deployed, with esbuild's metafile of the build. */
export interface BuiltBundle {
  /** The code of `index.js`, after the eager-compile step. */
  readonly code: string;
  readonly metafile: Metafile;
  /** Why the code is as esbuild wrote it, without the eager-compile step, if it is. */
  readonly warning?: string;
}

/** Builds the bundle of `entry` (relative to `root`) as `PipelineFunction` deploys it, in memory. */
export async function buildBundle(root: string, entry: string): Promise<BuiltBundle> {
  const { build } = await import('esbuild');
  let result;
  try {
    result = await build(bundleOptions(root, entry));
  } catch (error) {
    throw new BundleError(`esbuild could not bundle ${entry}: ${(error as Error).message}`, { cause: error });
  }
  const missing = missingStubs(root, result.metafile);
  if (missing.length > 0) {
    throw new BundleError(
      `The bundle of ${entry} carries the modules that require ${missing.join(', ')}, but not those files: the ` +
        'dependency moved them. Update MODULE_STUBS in lib/bundle.ts to its new layout (or drop the entry).',
    );
  }
  const esbuildCode = result.outputFiles.find((file) => file.path.endsWith('.js'))!.text;
  const eager = eagerCompile(esbuildCode, 'index.js');
  return {
    code: eager.code,
    metafile: result.metafile,
    ...(eager.reason
      ? {
          warning: `left as esbuild wrote it (each module's code is parsed twice on a cold start): ${eager.reason}`,
        }
      : {}),
  };
}

export interface BundleResult {
  /** The bundle's size in bytes, as written. */
  readonly bytes: number;
  /** Why the bundle was written as esbuild made it, without the eager-compile step, if it was. */
  readonly warning?: string;
}

/** Builds the bundle of `entry` (relative to `root`) into `outputDir/index.js`, as `PipelineFunction` deploys it. */
export async function bundleHandler(root: string, entry: string, outputDir: string): Promise<BundleResult> {
  const { code, warning } = await buildBundle(root, entry);
  mkdirSync(outputDir, { recursive: true });
  writeFileSync(path.join(outputDir, 'index.js'), code);
  return { bytes: Buffer.byteLength(code), ...(warning ? { warning } : {}) };
}
