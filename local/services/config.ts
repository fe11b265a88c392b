import { readFileSync } from 'node:fs';
import { ConfigError } from './errors';

/**
 * Replace every `{{NAME}}` in a config template. A placeholder without a value, or a value
 * nobody asked for, is an error: a silently unrendered path would put data in odd places.
 */
export function renderTemplate(
  template: string,
  values: Readonly<Record<string, string>>,
  what = 'template',
): string {
  const used = new Set<string>();
  const missing = new Set<string>();
  const out = template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) {
      missing.add(name);
      return '';
    }
    used.add(name);
    return v;
  });
  if (missing.size) {
    throw new ConfigError(`${what} uses {{${[...missing].join('}}, {{')}}} but no value was given for it.`);
  }
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length) {
    throw new ConfigError(
      `${what} has no {{${unused.join('}}, {{')}}} placeholder; the template and the code disagree.`,
    );
  }
  return out;
}

/** JVM flags from an options file: one per line; blank lines and `#` comments are skipped. */
export function parseJvmOptions(text: string, what = 'JVM options file'): string[] {
  const flags: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    if (!t.startsWith('-') || /\s/.test(t)) {
      throw new ConfigError(
        `${what} line ${i + 1}: "${t}" is not a single JVM flag (use --add-opens=a/b=ALL-UNNAMED, one per line).`,
      );
    }
    flags.push(t);
  });
  return flags;
}

/** Parse Java-style `key=value` properties (enough for our own server.properties). */
export function parseProperties(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith('!')) continue;
    const i = t.search(/[=:]/);
    if (i < 0) m.set(t, '');
    else m.set(t.slice(0, i).trim(), t.slice(i + 1).trim());
  }
  return m;
}

export interface PinnedVersions {
  kafka: string;
  cassandra: string;
}

/** The versions pinned in local/maven/pom.xml: the single source of truth for both. */
export function readPinnedVersions(pomFile: string): PinnedVersions {
  const pom = readFileSync(pomFile, 'utf8');
  const get = (prop: string): string => {
    const m = new RegExp(`<${prop.replace(/\./g, '\\.')}>\\s*([^<\\s]+)\\s*</`).exec(pom);
    if (!m?.[1]) throw new ConfigError(`${pomFile} has no <${prop}> property.`);
    return m[1];
  };
  return { kafka: get('kafka.version'), cassandra: get('cassandra.version') };
}
