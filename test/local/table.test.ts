import { describe, expect, it } from 'vitest';
import { renderTable, truncateCell } from '../../local/table';

describe('renderTable', () => {
  it("draws rows as Spark's show() does: right-aligned cells, null for a missing value", () => {
    expect(
      renderTable([
        { a: 1, bb: 'x' },
        { a: 22, bb: null },
      ]),
    ).toBe(
      [
        '+----+------+',
        '|  a |   bb |',
        '+----+------+',
        '|  1 |    x |',
        '| 22 | null |',
        '+----+------+',
      ].join('\n'),
    );
    expect(renderTable([])).toBe('(no rows)');
  });
});

describe('truncateCell', () => {
  it('GIVEN a text longer than the width THEN it is cut to the width, its last character an ellipsis', () => {
    expect(truncateCell('abcdefghij', 5)).toBe('abcd…');
    expect(truncateCell('abcde', 5)).toBe('abcde');
  });

  it('GIVEN an emoji at the cut THEN it is kept whole or left out, never halved', () => {
    expect(truncateCell('ab😀cdef', 4)).toBe('ab😀…');
    expect(truncateCell('😀😀😀😀', 4)).toBe('😀😀😀😀');
  });

  it('GIVEN no width (--no-truncate) THEN the whole text', () => {
    expect(truncateCell('x'.repeat(200), undefined)).toBe('x'.repeat(200));
  });
});
