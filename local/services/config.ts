import { readFileSync } from 'node:fs';
import { ServicesSettingError } from './errors';

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
    throw new ServicesSettingError(
      `${what} uses {{${[...missing].join('}}, {{')}}} but no value was given for it.`,
    );
  }
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length) {
    throw new ServicesSettingError(
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
      throw new ServicesSettingError(
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
  /** The default local Kafka. */
  kafka: string;
  /** The other Kafka `npm test` runs the Kafka-facing suites on. */
  kafkaAlsoTested: string;
  cassandra: string;
}

/** The versions pinned in local/maven/pom.xml: the single source of truth for all three. */
export function readPinnedVersions(pomFile: string): PinnedVersions {
  const pom = readFileSync(pomFile, 'utf8');
  const get = (prop: string): string => {
    const m = new RegExp(`<${prop.replace(/\./g, '\\.')}>\\s*([^<\\s]+)\\s*</`).exec(pom);
    if (!m?.[1]) throw new ServicesSettingError(`${pomFile} has no <${prop}> property.`);
    return m[1];
  };
  return {
    kafka: get('kafka.version'),
    kafkaAlsoTested: get('kafka.also-tested.version'),
    cassandra: get('cassandra.version'),
  };
}

/** The variable that selects the local Kafka version; unset means the pom's default. */
export const KAFKA_VERSION_ENV = 'MICROBATCH_KAFKA_VERSION';

/** The Kafka majors whose broker the native mode can run (each needs its own logging setup). */
export const SUPPORTED_KAFKA_MAJORS = [3, 4] as const;
export type KafkaMajor = (typeof SUPPORTED_KAFKA_MAJORS)[number];

export function kafkaMajor(version: string): KafkaMajor {
  const major = Number(version.split('.')[0]);
  if (!(SUPPORTED_KAFKA_MAJORS as readonly number[]).includes(major)) {
    throw new ServicesSettingError(
      `Kafka ${version} is not supported locally: the native mode runs Kafka ${SUPPORTED_KAFKA_MAJORS.join(' or ')}.x ` +
        `(KRaft). Set ${KAFKA_VERSION_ENV} to a 3.x or 4.x release, or unset it for the default.`,
    );
  }
  return major as KafkaMajor;
}

/**
 * The KRaft data of one release line, e.g. `4.4`: a broker never opens storage that another
 * line formatted (a 4.x broker upgrades the metadata of a 3.x log dir it starts on, and 3.x
 * cannot read it back), and a patch release keeps the topics of the same line.
 */
export function kafkaLine(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/** The versions the services run: the pom's, with Kafka overridden by MICROBATCH_KAFKA_VERSION. */
export function resolveVersions(
  pomFile: string,
  env: NodeJS.ProcessEnv = process.env,
): { kafka: string; cassandra: string } {
  const pinned = readPinnedVersions(pomFile);
  const raw = env[KAFKA_VERSION_ENV]?.trim();
  if (raw === undefined || raw === '') return { kafka: pinned.kafka, cassandra: pinned.cassandra };
  if (!/^\d+\.\d+\.\d+$/.test(raw)) {
    throw new ServicesSettingError(
      `${KAFKA_VERSION_ENV}="${raw}" is not a Kafka release number such as ${pinned.kafka} or ` +
        `${pinned.kafkaAlsoTested}; unset it for the default (${pinned.kafka}).`,
    );
  }
  kafkaMajor(raw);
  return { kafka: raw, cassandra: pinned.cassandra };
}
