import { describe, expect, it } from 'vitest';
import {
  AvailabilityZoneError,
  MSK_UNSUPPORTED_AZ_IDS,
  mskAvailabilityZones,
} from '../../../lib/kafka/availability-zones';

const US_EAST_1 = ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d'];
const choose = (ids: unknown, region = 'us-east-1', names = US_EAST_1) =>
  mskAvailabilityZones({ account: '111122223333', region, names, ids, count: 2 });

describe('mskAvailabilityZones', () => {
  it('skips the AZ whose ID MSK refuses, keeping the account order', () => {
    // GIVEN an account whose us-east-1b is use1-az3
    const ids = {
      'us-east-1a': 'use1-az6',
      'us-east-1b': 'use1-az3',
      'us-east-1c': 'use1-az1',
      'us-east-1d': 'use1-az2',
    };

    // THEN
    expect(choose(ids)).toEqual(['us-east-1a', 'us-east-1c']);
  });

  it('takes the first AZs when none of them is refused', () => {
    const ids = {
      'us-east-1a': 'use1-az1',
      'us-east-1b': 'use1-az2',
      'us-east-1c': 'use1-az3',
      'us-east-1d': 'use1-az4',
    };
    expect(choose(ids)).toEqual(['us-east-1a', 'us-east-1b']);
  });

  it('fails in us-east-1 without the mapping, naming the context key and the command that prints it', () => {
    expect(() => choose(undefined)).toThrow(AvailabilityZoneError);
    expect(() => choose(undefined)).toThrow(
      /MSK refuses client subnets in AZ ID use1-az3 in us-east-1.*"availability-zone-ids:account=111122223333:region=us-east-1".*aws ec2 describe-availability-zones --region us-east-1/,
    );
  });

  it('fails on a mapping that leaves out an AZ of the account, naming it', () => {
    expect(() => choose({ 'us-east-1a': 'use1-az6', 'us-east-1b': 'use1-az1' })).toThrow(
      /has no AZ ID for us-east-1c, us-east-1d/,
    );
  });

  it('fails on a value that is no AZ ID', () => {
    expect(() => choose({ 'us-east-1a': 'us-east-1a' })).toThrow(
      /maps us-east-1a to "us-east-1a", which is no AZ ID/,
    );
    expect(() => choose(['use1-az1'])).toThrow(/must be an object of AZ name to AZ ID/);
  });

  it('fails when fewer AZs than the cluster needs are left', () => {
    expect(() =>
      choose({ 'us-east-1a': 'use1-az3', 'us-east-1b': 'use1-az2' }, 'us-east-1', [
        'us-east-1a',
        'us-east-1b',
      ]),
    ).toThrow(
      /needs 2 AZs whose ID MSK accepts in us-east-1, but account 111122223333 has only 1 \(us-east-1b = use1-az2\) besides use1-az3/,
    );
  });

  it('needs no mapping in a region without a documented exception', () => {
    expect(MSK_UNSUPPORTED_AZ_IDS['eu-west-1']).toBeUndefined();
    expect(choose(undefined, 'eu-west-1', ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'])).toEqual([
      'eu-west-1a',
      'eu-west-1b',
    ]);
  });
});
