#!/usr/bin/env -S node --max-semi-space-size=64
// The `microbatch` command (`npx microbatch`, and the npm scripts, which run this file as it is): loads the
// TypeScript CLI through tsx, so no build step is needed.
//
// The shebang carries the runner's memory setting, so every way of starting the command has it: a young
// generation of 64 MB keeps a 10,000-record batch's garbage out of the old generation (bench/README.md).
//
// Loading takes a moment. A Ctrl-C or SIGTERM that arrives meanwhile must not kill the process half-started:
// it is remembered here, before anything heavy loads, and the CLI honours it as a graceful stop once it is up.
const early = [];
const remember = (signal) => early.push(signal);
process.on('SIGINT', remember);
process.on('SIGTERM', remember);
globalThis.microbatchEarlySignals = {
  /** Stops remembering, and returns the signals that arrived while loading. */
  take() {
    process.off('SIGINT', remember);
    process.off('SIGTERM', remember);
    return early.splice(0);
  },
};

try {
  require('tsx/cjs');
} catch (error) {
  // A fresh clone before `npm ci`: say so, instead of Node's stack trace for a missing module.
  if (error && error.code === 'MODULE_NOT_FOUND' && /'tsx\/cjs'/.test(error.message)) {
    console.error(
      `microbatch: the project's dependencies are not installed. Run \`npm ci\` in ${require('node:path').dirname(__dirname)} first.`,
    );
    process.exit(1);
  }
  throw error;
}
// A reader that closed the pipe (`microbatch status | head -3`) wants no more output: stop quietly, as a command
// killed by SIGPIPE does, instead of Node's stack trace of an unhandled EPIPE at the next write. Nothing is lost
// by stopping at once: what a runner had not committed comes back on the next start, as after a second Ctrl-C.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error && error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
const { main } = require('./cli.ts');
// A signal that came while the modules loaded synchronously is dispatched on the next turn of the event loop:
// start the CLI after it, so that `take()` sees it.
setImmediate(() =>
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  ),
);
