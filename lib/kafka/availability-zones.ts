/**
 * Which availability zones the cluster's subnets may use. MSK refuses client subnets in some AZ IDs, and AZ
 * *names* map to AZ IDs differently in every account, so the choice needs the account's mapping.
 *
 * The documented list: "Client subnets can't occupy the Availability Zone with ID use1-az3", for provisioned
 * clusters (`BrokerNodeGroupInfo.ClientSubnets`,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-msk-cluster-brokernodegroupinfo.html)
 * and for MSK Serverless (`VpcConfig.SubnetIds`,
 * https://docs.aws.amazon.com/MSK/2.0/APIReference/v2-clusters.html#v2-clusters-model-vpcconfig).
 *
 * The mapping comes from the CDK context, next to CDK's own AZ lookup and keyed the same way:
 * `availability-zone-ids:account=<account>:region=<region>` = `{ "<AZ name>": "<AZ ID>", ... }`, which
 * `aws ec2 describe-availability-zones` prints. No CDK imports: the rules are plain data and one function.
 */

/** AZ IDs where MSK refuses client subnets, by region. Regions not listed have no documented exception. */
export const MSK_UNSUPPORTED_AZ_IDS: Readonly<Record<string, readonly string[]>> = {
  'us-east-1': ['use1-az3'],
};

/** The context key of an account's AZ name to AZ ID mapping in a region. */
export function availabilityZoneIdsContextKey(account: string, region: string): string {
  return `availability-zone-ids:account=${account}:region=${region}`;
}

/** Raised when the cluster's AZs cannot be chosen; the message says what to add or change. */
export class AvailabilityZoneError extends Error {
  override readonly name = 'AvailabilityZoneError';
}

export interface MskAvailabilityZonesInput {
  readonly account: string;
  readonly region: string;
  /** The account's AZ names in the region, in CDK's order (its `availability-zones:...` context). */
  readonly names: readonly string[];
  /** The context value of `availability-zone-ids:account=...:region=...`, if any (not yet validated). */
  readonly ids: unknown;
  /** How many AZs the cluster needs. */
  readonly count: number;
}

const AZ_ID = /^[a-z]{2,}[0-9]+-az[0-9]+$/;

/**
 * The first `count` AZ names, in the account's order, whose AZ ID MSK accepts. In a region with no documented
 * exception it is the first `count` names, mapping or not. Throws `AvailabilityZoneError` when the region has
 * exceptions and the mapping is missing or incomplete, when the mapping is malformed, or when too few AZs remain.
 */
export function mskAvailabilityZones(input: MskAvailabilityZonesInput): string[] {
  const { account, region, names, count } = input;
  const key = availabilityZoneIdsContextKey(account, region);
  const unsupported = MSK_UNSUPPORTED_AZ_IDS[region] ?? [];
  const ids = parseMapping(key, input.ids);
  if (unsupported.length === 0 && ids === undefined) return names.slice(0, count);

  const command =
    `aws ec2 describe-availability-zones --region ${region} ` +
    `--query 'AvailabilityZones[].[ZoneName,ZoneId]' --output text`;
  if (ids === undefined) {
    throw new AvailabilityZoneError(
      `MSK refuses client subnets in AZ ID ${unsupported.join(', ')} in ${region}, and AZ names map to AZ IDs ` +
        `differently in each account. Add the mapping of account ${account} to cdk.context.json (or the cdk.json context) as ` +
        `"${key}": {"<AZ name>": "<AZ ID>", ...}, from \`${command}\`.`,
    );
  }
  const unmapped = names.filter((name) => !(name in ids));
  if (unmapped.length > 0) {
    throw new AvailabilityZoneError(
      `Context '${key}' has no AZ ID for ${unmapped.join(', ')}; it must map every AZ name of the account ` +
        `(${names.join(', ')}). Copy them from \`${command}\`.`,
    );
  }
  const chosen = names.filter((name) => !unsupported.includes(ids[name]!)).slice(0, count);
  if (chosen.length < count) {
    throw new AvailabilityZoneError(
      `The MSK cluster needs ${count} AZs whose ID MSK accepts in ${region}, but account ${account} has only ` +
        `${chosen.length} (${describe(chosen, ids)}) besides ${unsupported.join(', ')}.`,
    );
  }
  return chosen;
}

function parseMapping(key: string, value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new AvailabilityZoneError(
      `Context '${key}' must be an object of AZ name to AZ ID, e.g. {"us-east-1a": "use1-az6"}; received ` +
        `${JSON.stringify(value)}.`,
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [name, id] of entries) {
    if (typeof id !== 'string' || !AZ_ID.test(id)) {
      throw new AvailabilityZoneError(
        `Context '${key}' maps ${name} to ${JSON.stringify(id)}, which is no AZ ID (such as "use1-az6").`,
      );
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function describe(names: readonly string[], ids: Readonly<Record<string, string>>): string {
  return names.length ? names.map((n) => `${n} = ${ids[n]}`).join(', ') : 'none';
}
