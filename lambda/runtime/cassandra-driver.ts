// The declarations travel with this module, so that any program that compiles it has them (a job's own tsconfig too).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./cassandra-driver-modules.d.ts" />
/**
 * The parts of cassandra-driver the functions use, each required from the driver's own module instead of its
 * package index. The index also loads the object mapper (`mapping`) and the `concurrent` helpers, which nothing
 * here uses: 33 KB of each consumer's bundle, and 2–3 ms of its cold import on Node.js 24 (`npm run bench`).
 * Each export is the very object the index exports (test/lambda/runtime/cassandra-driver.test.ts), typed by the
 * package's own declarations (cassandra-driver-modules.d.ts). Types alone can still come from 'cassandra-driver'.
 */
// TypeScript's CommonJS import: each name is the module itself, a value and a namespace of types at once, as the
// index's re-exports are (`types.Row` is a type, `types.consistencies` a value); an ES import would wrap it.
/* eslint-disable @typescript-eslint/no-require-imports */
import Client = require('cassandra-driver/lib/client');
import auth = require('cassandra-driver/lib/auth');
import errors = require('cassandra-driver/lib/errors');
import types = require('cassandra-driver/lib/types');
/* eslint-enable @typescript-eslint/no-require-imports */

export { auth, Client, errors, types };
