import { describe, expect, it } from 'vitest';
import { environmentCredentials } from '../../../lambda/runtime/aws-credentials';
import { RuntimeConfigError } from '../../../lambda/runtime/errors';

describe('environmentCredentials', () => {
  it("reads the execution role's temporary credentials where Lambda puts them", async () => {
    const env = { AWS_ACCESS_KEY_ID: 'ASIA1', AWS_SECRET_ACCESS_KEY: 's3cret', AWS_SESSION_TOKEN: 'tok' };
    await expect(environmentCredentials(env)()).resolves.toEqual({
      accessKeyId: 'ASIA1',
      secretAccessKey: 's3cret',
      sessionToken: 'tok',
    });
  });

  it('takes long-term keys without a session token', async () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 's3cret' };
    await expect(environmentCredentials(env)()).resolves.toEqual({
      accessKeyId: 'AKIA1',
      secretAccessKey: 's3cret',
    });
  });

  it('reads the variables on every call, so rotated credentials are picked up', async () => {
    const env: NodeJS.ProcessEnv = { AWS_ACCESS_KEY_ID: 'ASIA1', AWS_SECRET_ACCESS_KEY: 'a' };
    const provider = environmentCredentials(env);
    await provider();
    env.AWS_ACCESS_KEY_ID = 'ASIA2';
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'ASIA2' });
  });

  it('fails naming the variables and how to set them when they are missing', async () => {
    const error = await environmentCredentials({ AWS_ACCESS_KEY_ID: 'AKIA1' })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeConfigError);
    expect(String(error)).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set/);
    expect(String(error)).toMatch(/export-credentials/);
  });
});
