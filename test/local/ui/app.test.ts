/**
 * The page script's formatting of durations (local/ui/static/app.js is plain browser JavaScript without
 * modules: the helper is read from it and run here as the page runs it).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const APP_JS = readFileSync(join(__dirname, '../../../local/ui/static/app.js'), 'utf8');

function helper<T>(name: string): T {
  const source = new RegExp(`\\n  function ${name}\\([^)]*\\) \\{\\n[\\s\\S]*?\\n  \\}\\n`).exec(APP_JS)?.[0];
  if (!source) throw new Error(`No function ${name} in app.js`);
  return new Function(`const DASH = '—';\n${source}\nreturn ${name};`)() as T;
}

describe('seconds (lag time, "ago", how long a claim is open)', () => {
  const seconds = helper<(v: number | null) => string>('seconds');

  it.each([
    [0.04, '0.0 s'],
    [59.4, '59.4 s'],
    [59.97, '1 min 0 s'],
    [61, '1 min 1 s'],
    [119.6, '2 min 0 s'],
    [3599.7, '1.0 h'],
    [5400, '1.5 h'],
  ])('shows %s s as %s, never "60.0 s" or "1 min 60 s"', (v, shown) => {
    expect(seconds(v)).toBe(shown);
  });
});
