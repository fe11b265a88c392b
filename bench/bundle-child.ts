/**
 * Bundles the handlers with CDK in a process of its own: aws-cdk-lib stays out of the benchmark's heap, and
 * the bundler's console output (esbuild, npm) is captured instead of breaking the progress bar.
 * Arguments: the repository root and the output directory. Prints one JSON line: `{ "<handler>": "<index.js>" }`.
 */
import { bundleWithCdk, handlerEntries } from './handlers';

async function main(): Promise<void> {
  const [root, outDir] = process.argv.slice(2);
  if (!root || !outDir) throw new Error('usage: bundle-child <root> <outDir>');
  const bundles = await bundleWithCdk(root, outDir, handlerEntries(root));
  process.stdout.write(`${JSON.stringify(Object.fromEntries(bundles))}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bundle-child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
