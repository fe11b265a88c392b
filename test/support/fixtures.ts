import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const cache = new Map<string, unknown>();

/** A fresh copy of a JSON fixture event, so that no test can change what another one sees. */
export function fixtureEvent(name: string): Record<string, unknown> {
  if (!cache.has(name)) {
    cache.set(
      name,
      JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'events', `${name}.json`), 'utf8')),
    );
  }
  return structuredClone(cache.get(name)) as Record<string, unknown>;
}
