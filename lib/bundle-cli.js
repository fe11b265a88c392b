#!/usr/bin/env node
// What `PipelineFunction` runs to bundle a function (lib/functions.ts, its local bundling): the build is esbuild's
// API with a plugin (lib/bundle.ts says why), which is asynchronous, and CDK asks for a bundle synchronously.
// Plain JavaScript that loads the TypeScript through tsx, as local/bin.js does.
// Usage: bundle-cli.js <entry, relative to the project root> <output directory>
'use strict';
require('tsx/cjs');
const path = require('node:path');
const { bundleHandler } = require('./bundle.ts');

const [entry, outputDir] = process.argv.slice(2);
if (!entry || !outputDir) {
  process.stderr.write('usage: bundle-cli.js <entry relative to the project root> <output directory>\n');
  process.exit(2);
}
bundleHandler(path.resolve(__dirname, '..'), entry, outputDir).then(
  (result) => {
    if (result.warning) process.stderr.write(`warning: the bundle of ${entry} is ${result.warning}\n`);
  },
  (error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
