import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, bundleHandler, bundleOptions, missingStubs, MODULE_STUBS } from '../../lib/bundle';
import { parenthesizeModuleWrappers } from '../../lib/eager-compile';
import { bundleLocally, PROJECT_ROOT } from '../../lib/functions';

/** Where esbuild finds the installed modules: their real path, through a symlinked node_modules if any. */
const NODE_MODULES = realpathSync(join(PROJECT_ROOT, 'node_modules'));
const DRIVER = join(NODE_MODULES, 'cassandra-driver', 'lib');

describe('the bundles of lib/bundle.ts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'microbatch-bundle-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("GIVEN a consumer THEN its bundle carries the driver's client with the stubs, not the modules they replace", async () => {
    // WHEN
    const { metafile } = await build(bundleOptions(PROJECT_ROOT, 'lambda/jobs/sent-received.ts'));
    // THEN
    const inputs = Object.keys(metafile.inputs).map((input) => join(PROJECT_ROOT, input));
    expect(inputs).toContain(join(DRIVER, 'client.js'));
    for (const [module, stub] of Object.entries(MODULE_STUBS)) {
      expect(inputs).toContain(join(PROJECT_ROOT, stub));
      expect(inputs).not.toContain(join(NODE_MODULES, module));
    }
    // What only the Astra support pulled in is gone with it.
    expect(inputs.some((input) => input.includes('/node_modules/adm-zip/'))).toBe(false);
    const imports = Object.values(metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
    expect(imports).not.toContain('https');
  });

  it('GIVEN a checkout whose node_modules is a symlink (pnpm, a linked checkout) THEN the stubs still replace the modules', async () => {
    // GIVEN a root whose lambda/ and node_modules/ are symlinks to this checkout's
    const root = mkdtempSync(join(dir, 'linked-root-'));
    symlinkSync(join(PROJECT_ROOT, 'lambda'), join(root, 'lambda'));
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'));
    // WHEN
    const { metafile } = await buildBundle(root, 'lambda/jobs/sent-received.ts');
    // THEN esbuild, which resolves modules by their real path, took each stub instead of the module
    const inputs = Object.keys(metafile.inputs);
    for (const [module, stub] of Object.entries(MODULE_STUBS)) {
      expect({ module, stub: inputs.some((input) => input.endsWith(stub.replace(/^\.\//, ''))) }).toEqual({
        module,
        stub: true,
      });
      expect(inputs.filter((input) => input.endsWith(`node_modules/${module}`))).toEqual([]);
    }
  });

  it('GIVEN an entry THEN bundleHandler writes index.js with its modules in parentheses, and a handler that loads', async () => {
    // WHEN
    const outputDir = join(dir, 'query');
    const result = await bundleHandler(PROJECT_ROOT, 'lambda/handlers/query.ts', outputDir);
    // THEN
    const code = readFileSync(join(outputDir, 'index.js'), 'utf8');
    expect(result).toEqual({ bytes: Buffer.byteLength(code) });
    const { wrapped, alreadyEager, reason } = parenthesizeModuleWrappers(code);
    expect({ wrapped, eager: alreadyEager > 50, reason }).toEqual({
      wrapped: 0,
      eager: true,
      reason: undefined,
    });
    const loaded = spawnSync(
      process.execPath,
      ['-e', 'console.log(typeof require(process.argv[1]).handler)', join(outputDir, 'index.js')],
      { encoding: 'utf8' },
    );
    expect({ status: loaded.status, stdout: loaded.stdout.trim() }).toEqual({
      status: 0,
      stdout: 'function',
    });
  });

  it("GIVEN the driver's client as bundled THEN the stubs do what the modules do here, and say why otherwise", async () => {
    // GIVEN the client from a bundle built as the functions' are
    const outputDir = join(dir, 'driver-client');
    await bundleHandler(PROJECT_ROOT, 'test/lib/fixtures/driver-client.ts', outputDir);
    const probe = `
      const { Client } = require(process.argv[1]);
      (async () => {
        const client = new Client({ contactPoints: ['127.0.0.1:1'], localDataCenter: 'dc1' });
        client.insightsClient.init();
        client.insightsClient.shutdown();
        const graph = await client.executeGraph('g.V()').then(() => 'resolved', (e) => e.message);
        const astra = new Client({ cloud: { secureConnectBundle: '/nowhere.zip' }, credentials: { username: 'u', password: 'p' } });
        const cloud = await astra.connect().then(() => 'connected', (e) => e.message);
        await client.shutdown();
        console.log(JSON.stringify({ graph, cloud }));
      })();`;
    // WHEN
    const run = spawnSync(process.execPath, ['-e', probe, join(outputDir, 'index.js')], { encoding: 'utf8' });
    // THEN the insights client is there and quiet (it reports to DSE only), and Graph and Astra fail with the reason
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      graph: expect.stringMatching(
        /^DSE Graph \(client\.executeGraph\) is not in this bundle: .*MODULE_STUBS/,
      ),
      cloud: expect.stringMatching(
        /^DataStax Astra support \(cloud\.secureConnectBundle\) is not in this bundle/,
      ),
    });
  });

  it('GIVEN a bundle with the client but not a stub THEN missingStubs names the module the driver moved', () => {
    const metafile = (files: string[]): Metafile => ({
      inputs: Object.fromEntries(files.map((f) => [f, { bytes: 1, imports: [] }])),
      outputs: {},
    });
    const client = 'node_modules/cassandra-driver/lib/client.js';
    const stubs = Object.values(MODULE_STUBS).map((stub) => stub.replace(/^\.\//, ''));
    expect(missingStubs(PROJECT_ROOT, metafile([client, ...stubs]))).toEqual([]);
    expect(missingStubs(PROJECT_ROOT, metafile([client, ...stubs.slice(1)]))).toEqual([
      Object.keys(MODULE_STUBS)[0],
    ]);
    // No client, no driver modules to replace: a bundle without the driver needs none of its stubs.
    expect(missingStubs(PROJECT_ROOT, metafile(['lambda/handlers/producer.ts']))).toEqual([]);
  });

  it('GIVEN an entry esbuild cannot bundle THEN bundleLocally fails, naming the entry and the reason', () => {
    const outputDir = join(dir, 'broken');
    expect(() => bundleLocally('lambda/handlers/no-such-handler.ts', outputDir)).toThrow(
      /^Bundling lambda\/handlers\/no-such-handler\.ts failed \(exit 1\): esbuild could not bundle .*no-such-handler/s,
    );
    expect(existsSync(join(outputDir, 'index.js'))).toBe(false);
  });
});
