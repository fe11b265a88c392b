import { defineConfig } from 'vitest/config';

/**
 * Three projects, so that each can run alone:
 * - unit: pure code, no network (`test/**` except infra and `*.int.test.ts`);
 * - infra: CDK synth assertions, snapshots and cdk-nag (`test/lib/**`, `test/bin/**`);
 * - integration: the real local Kafka and Cassandra, started by the global setup if they are not running.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/lib/**', 'test/bin/**', 'test/**/*.int.test.ts', 'node_modules/**'],
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/lib/**/*.test.ts', 'test/bin/**/*.test.ts'],
          // Synth with esbuild bundling is CPU-bound; two cores are shared with the services.
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/setup/services.global.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Every test uses fresh topics, groups and job names, but the two cores also run Kafka and
          // Cassandra: one file at a time keeps timings honest.
          fileParallelism: false,
        },
      },
    ],
  },
});
