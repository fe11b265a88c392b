/**
 * The AWS credentials the functions sign with (Keyspaces SigV4, MSK IAM), with no SDK: a module of its own so that
 * neither signer pulls the other's client into a bundle.
 */
import { RuntimeConfigError } from './errors';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export type CredentialsProvider = () => Promise<AwsCredentials>;

/**
 * The function's own credentials, where Lambda puts them: the execution role's temporary credentials in
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. The SDK's default chain reads these same
 * variables first; reading them here keeps the chain's other providers (profiles, SSO, STS, the instance metadata
 * service: about 300 KB with the SDK core) out of the bundles. Read on every call, as the SDK's `fromEnv` does.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
 */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): CredentialsProvider {
  return async () => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new RuntimeConfigError(
        'No AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set. Lambda sets them from the ' +
          "function's execution role; elsewhere, export them (for example with `aws configure export-credentials --format env`).",
      );
    }
    const sessionToken = env.AWS_SESSION_TOKEN;
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  };
}
