import { describe, expect, it } from 'vitest';
import { builtinsRequired, packageOf } from '../../bench/handlers';

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
