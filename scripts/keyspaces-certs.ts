/**
 * Writes lambda/runtime/keyspaces-certs.ts from the PEM files in lambda/runtime/certs/, so that the handlers'
 * bundles carry the certificates without a file loader. Run it after changing a file there:
 *
 *   npx tsx scripts/keyspaces-certs.ts
 *
 * test/lambda/runtime/keyspaces-certs.test.ts fails while the module and the files differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { KEYSPACES_CERT_FILES, renderCertsModule } from '../lambda/runtime/certs/files';

const root = path.resolve(__dirname, '..');
const pems = KEYSPACES_CERT_FILES.map((file) =>
  readFileSync(path.join(root, 'lambda', 'runtime', 'certs', file), 'utf8'),
);
writeFileSync(path.join(root, 'lambda', 'runtime', 'keyspaces-certs.ts'), renderCertsModule(pems));
