#!/usr/bin/env node
// The step `PipelineFunction` runs after esbuild (lib/functions.ts, `commandHooks.afterBundling`): puts each
// module function of the bundle in parentheses, so that V8 compiles it once (lib/eager-compile.ts says why).
// Plain JavaScript that loads the TypeScript through tsx, as local/bin.js does: CDK runs it as a shell command.
// A bundle it cannot read is left as esbuild wrote it, with a warning: the deployment goes on.
'use strict';
require('tsx/cjs');
const { eagerCompileFile } = require('./eager-compile.ts');

for (const file of process.argv.slice(2)) {
  const result = eagerCompileFile(file);
  if (result.reason) {
    process.stderr.write(
      `warning: ${file} is left as esbuild wrote it (each module's code is parsed twice on a cold start): ${result.reason}\n`,
    );
  }
}
