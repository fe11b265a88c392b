import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_TARGET } from '../../lib/bundle';
import { eagerCompile, parenthesizeModuleWrappers } from '../../lib/eager-compile';

/** Runs a CommonJS bundle in a fresh context and returns what it exports. */
function exportsOf(code: string): Record<string, unknown> {
  const module = { exports: {} as Record<string, unknown> };
  runInNewContext(code, { module, exports: module.exports, require: () => ({}) });
  return module.exports;
}

describe('parenthesizeModuleWrappers', () => {
  let dir: string;
  /** A minified esbuild bundle (the project's esbuild, as lib/bundle.ts runs it) of CommonJS and ESM modules. */
  let bundle: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'microbatch-eager-'));
    // Brackets in strings, a regular expression, a template and a division: what a naive scan would miscount.
    writeFileSync(
      join(dir, 'tricky.cjs'),
      'const open = "({[";\n' +
        'const pattern = /\\)\\}\\]/g;\n' +
        'function halve(x) { return x / 2 / 1; }\n' +
        'module.exports = { text: `${open}${"}".repeat(2)}`, closes: "a)}]".replace(pattern, "").length, half: halve(10) };\n',
    );
    writeFileSync(join(dir, 'counter.cjs'), 'let n = 0;\nmodule.exports = { next: () => ++n };\n');
    writeFileSync(join(dir, 'esm.mjs'), 'export const answer = 6 * 7;\n');
    writeFileSync(
      join(dir, 'entry.cjs'),
      'const tricky = require("./tricky.cjs");\n' +
        'const counter = require("./counter.cjs");\n' +
        'const { answer } = require("./esm.mjs");\n' +
        'counter.next();\n' +
        'module.exports = { ...tricky, count: counter.next(), answer };\n',
    );
    const result = await build({
      entryPoints: [join(dir, 'entry.cjs')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: BUNDLE_TARGET,
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    bundle = result.outputFiles[0]!.text;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN an esbuild bundle THEN puts every module function in parentheses, and the bundle does the same', () => {
    // WHEN
    const result = parenthesizeModuleWrappers(bundle);
    // THEN the two CommonJS modules the entry requires and the ESM one, each wrapped once (the entry's own code
    // is the bundle's top level), and nothing else changed
    expect(result.reason).toBeUndefined();
    expect(result.wrapped).toBe(3);
    expect(result.code.length).toBe(bundle.length + 2 * 3);
    expect(result.code.replace(/[()]/g, '')).toBe(bundle.replace(/[()]/g, ''));
    expect(exportsOf(result.code)).toEqual(exportsOf(bundle));
    expect(exportsOf(result.code)).toEqual({ text: '({[}}', closes: 1, half: 5, count: 2, answer: 42 });
  });

  it('GIVEN a bundle rewritten once THEN a second rewrite changes nothing and counts the modules as eager', () => {
    const once = parenthesizeModuleWrappers(bundle);
    const twice = parenthesizeModuleWrappers(once.code);
    expect(twice).toEqual({ code: once.code, wrapped: 0, alreadyEager: 3 });
  });

  it('GIVEN top-level calls that are not module wrappers THEN leaves them alone', () => {
    const code = 'var a=f((b,c)=>b,1),d=g(1+2),e=h(),k=l(m);var n=o((p)=>{return p})(q);';
    // Only `o`'s single function argument is one; the others have two arguments, an expression or none.
    expect(parenthesizeModuleWrappers(code)).toEqual({
      code: 'var a=f((b,c)=>b,1),d=g(1+2),e=h(),k=l(m);var n=o(((p)=>{return p}))(q);',
      wrapped: 1,
      alreadyEager: 0,
    });
  });

  it('GIVEN code that acorn cannot read or whose brackets do not balance THEN returns it as it was, with the reason', () => {
    expect(parenthesizeModuleWrappers('var a=m(()=>{"unterminated)')).toMatchObject({
      code: 'var a=m(()=>{"unterminated)',
      wrapped: 0,
      reason: expect.stringMatching(/^acorn could not read it: Unterminated string constant/),
    });
    expect(parenthesizeModuleWrappers('var a=m(()=>{')).toMatchObject({
      code: 'var a=m(()=>{',
      wrapped: 0,
      reason: 'its brackets do not balance',
    });
  });

  it('GIVEN a bundle THEN eagerCompile rewrites it, and returns code V8 would not compile as it was, with the reason', () => {
    expect(eagerCompile(bundle, 'index.js')).toMatchObject({
      wrapped: 3,
      code: parenthesizeModuleWrappers(bundle).code,
    });
    expect(eagerCompile('var a=m(()=>{', 'index.js')).toMatchObject({
      code: 'var a=m(()=>{',
      reason: 'its brackets do not balance',
    });
    // Balanced brackets and a wrapper to put in parentheses, but a body that is not a function's: `return` at the
    // top level of a module is legal in CommonJS, `await` is not.
    const notCompiling = 'var a=m(()=>{});await 1;';
    expect(eagerCompile(notCompiling, 'index.js')).toMatchObject({
      code: notCompiling,
      wrapped: 0,
      reason: expect.stringMatching(/^the result does not compile: /),
    });
  });
});
