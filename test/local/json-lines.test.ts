import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { onJsonLines } from '../../local/json-lines';

describe('onJsonLines', () => {
  it('joins a line split across chunks, and skips what is not JSON', () => {
    const stream = new PassThrough();
    const values: unknown[] = [];
    onJsonLines(stream, (v) => values.push(v));
    stream.write('{"a":1}\n{"b":');
    stream.write('2}\nnot json\n');
    stream.write('{"c":3}');
    expect(values).toEqual([{ a: 1 }, { b: 2 }]);
    stream.write('\n');
    expect(values).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });
});
