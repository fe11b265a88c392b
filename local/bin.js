#!/usr/bin/env node
// The package's `microbatch` command: loads the TypeScript CLI through tsx, so no build step is needed.
require('tsx/cjs');
const { main } = require('./cli.ts');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
