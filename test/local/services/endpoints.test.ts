import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ENDPOINTS,
  overriddenEndpointVars,
  resolveEndpoints,
} from '../../../local/services/endpoints';
import { ServicesSettingError } from '../../../local/services/errors';

describe('resolveEndpoints', () => {
  it('uses the local defaults when nothing is set', () => {
    expect(resolveEndpoints({})).toEqual({
      kafkaBrokers: ['localhost:9092'],
      cassandraContactPoints: ['127.0.0.1:9042'],
      cassandraLocalDataCenter: 'datacenter1',
    });
  });

  it('treats empty or blank variables as unset', () => {
    expect(
      resolveEndpoints({ KAFKA_BROKERS: '', CASSANDRA_CONTACT_POINTS: '  ', CASSANDRA_LOCAL_DC: '' }),
    ).toEqual(resolveEndpoints({}));
  });

  it('splits comma lists and trims each entry', () => {
    const e = resolveEndpoints({
      KAFKA_BROKERS: ' b1.example:9092 , b2.example:9094',
      CASSANDRA_CONTACT_POINTS: 'c1.example,10.0.0.7:9043,[::1]:9042',
      CASSANDRA_LOCAL_DC: ' eu-west-1 ',
    });
    expect(e.kafkaBrokers).toEqual(['b1.example:9092', 'b2.example:9094']);
    expect(e.cassandraContactPoints).toEqual(['c1.example', '10.0.0.7:9043', '[::1]:9042']);
    expect(e.cassandraLocalDataCenter).toBe('eu-west-1');
  });

  it('returns fresh arrays, not the frozen defaults', () => {
    const e = resolveEndpoints({});
    e.kafkaBrokers.push('x:1');
    expect(DEFAULT_ENDPOINTS.kafkaBrokers).toEqual(['localhost:9092']);
  });

  it.each([
    ['KAFKA_BROKERS', 'a:9092,,b:9092', /empty entry/],
    ['KAFKA_BROKERS', 'kafka-without-port', /not host:port/],
    ['KAFKA_BROKERS', 'a:70000', /not host:port/],
    ['CASSANDRA_CONTACT_POINTS', 'a b', /not host or host:port/],
    ['CASSANDRA_CONTACT_POINTS', 'h:0', /not host or host:port/],
  ])('rejects %s=%j with a ServicesSettingError naming the variable', (name, value, pattern) => {
    const run = (): unknown => resolveEndpoints({ [name]: value });
    expect(run).toThrow(ServicesSettingError);
    expect(run).toThrow(pattern);
    expect(run).toThrow(name);
  });
});

describe('overriddenEndpointVars', () => {
  it('is empty for the defaults, even when spelled out', () => {
    expect(
      overriddenEndpointVars({
        KAFKA_BROKERS: 'localhost:9092',
        CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042',
        CASSANDRA_LOCAL_DC: 'datacenter1',
      }),
    ).toEqual([]);
  });

  it('lists each variable that points elsewhere', () => {
    expect(overriddenEndpointVars({ KAFKA_BROKERS: 'other:9092', CASSANDRA_LOCAL_DC: 'dc2' })).toEqual([
      'KAFKA_BROKERS=other:9092',
      'CASSANDRA_LOCAL_DC=dc2',
    ]);
  });
});
