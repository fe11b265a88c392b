import { describe, expect, it } from 'vitest';
import { packageOf } from '../../bench/handlers';

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
