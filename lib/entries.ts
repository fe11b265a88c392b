/**
 * The handler files written at synth: an entry that combines modules (the redrive handler bound to one job's
 * code). No CDK import here, so the bench can write the same entries without loading aws-cdk-lib.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** The repository root. */
const PROJECT_ROOT = path.resolve(__dirname, '..');

/** Where `generatedEntry` writes, relative to the repository root. */
const GENERATED_ENTRIES = '.local/entries';

/**
 * Writes a small handler file for a function whose entry is a combination of modules (e.g. the redrive
 * handler bound to one job's code), and returns its path relative to the repository root. It is written only
 * when its text changes, so the bundle's inputs, and the asset hash, stay the same between synths.
 */
export function generatedEntry(name: string, source: string): string {
  if (!/^[a-z0-9-]+$/.test(name))
    throw new Error(`generatedEntry name must be lower-case letters, digits and dashes, received '${name}'.`);
  const relative = `${GENERATED_ENTRIES}/${name}.ts`;
  const file = path.join(PROJECT_ROOT, relative);
  const text = `// Generated at synth by the CDK app (lib/); do not edit.\n${source}`;
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return relative;
}

/** The redrive handler bound to the job's code: `redriveHandlerFor(job)`, in a generated entry. */
export function redriveEntry(job: string, jobEntry: string): string {
  if (!/^lambda\/jobs\/[a-z0-9-]+\.ts$/.test(jobEntry)) {
    throw new Error(
      `SkippedRangeRedrive jobEntry must be a job file under lambda/jobs/, received '${jobEntry}'. ` +
        'Pass the registry entry of the job, e.g. lambda/jobs/sent-received.ts.',
    );
  }
  const from = `../../${jobEntry.slice(0, -'.ts'.length)}`;
  return generatedEntry(
    `redrive-${job}`,
    `import job from '${from}';\n` +
      "import { redriveHandlerFor } from '../../lambda/handlers/redrive';\n\n" +
      'export const handler = redriveHandlerFor(job);\n',
  );
}
