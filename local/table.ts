/** Renders rows as a text table, like Spark's `DataFrame.show()`. */
export function renderTable(rows: ReadonlyArray<Record<string, unknown>>): string {
  if (!rows.length) return '(no rows)';
  const columns = Object.keys(rows[0]!);
  const cells = rows.map((r) =>
    columns.map((c) => (r[c] === null || r[c] === undefined ? 'null' : String(r[c]))),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (values: string[]) => `| ${values.map((v, i) => v.padStart(widths[i]!)).join(' | ')} |`;
  return [rule, line(columns), rule, ...cells.map(line), rule].join('\n');
}

/**
 * A cell cut to `width` characters, its last one an ellipsis so that the cut shows, as Spark's `show()` cuts a
 * string to 20 with "...". `undefined` keeps the whole text (`show(truncate = false)`).
 */
export function truncateCell(text: string, width: number | undefined): string {
  if (width === undefined || text.length <= width) return text;
  // By code points, so that a value quoted in the text (an emoji, say) is not cut in half.
  const points = Array.from(text);
  return points.length <= width ? text : `${points.slice(0, width - 1).join('')}…`;
}
