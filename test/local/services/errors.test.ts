import { describe, expect, it } from 'vitest';
import {
  ArtifactFetchError,
  HealthTimeoutError,
  MavenNotFoundError,
  PortInUseError,
  PrerequisiteError,
  ServicesError,
  ServiceStartError,
  UpFailedError,
  describe as describeError,
} from '../../../local/services/errors';

describe('error classes', () => {
  it('name themselves after their class and keep their cause', () => {
    const cause = new Error('ECONNREFUSED');
    const e = new HealthTimeoutError(
      'cassandra',
      '127.0.0.1:9042',
      240_000,
      '/r/.local/logs/cassandra.log',
      cause,
    );
    expect(e.name).toBe('HealthTimeoutError');
    expect(e.cause).toBe(cause);
    expect(e).toBeInstanceOf(ServiceStartError);
    expect(e).toBeInstanceOf(ServicesError);
    expect(e).toBeInstanceOf(Error);
    expect(e.service).toBe('cassandra');
  });

  it('say how long they waited, for what, and which log to read', () => {
    const e = new HealthTimeoutError(
      'kafka',
      'localhost:9092',
      90_000,
      '/r/.local/logs/kafka.log',
      new Error('boom'),
    );
    expect(e.message).toBe(
      'kafka at localhost:9092 was not healthy within 90 s (last health-check error: Error: boom).\nSee /r/.local/logs/kafka.log.',
    );
  });

  it('tell how to install a missing prerequisite', () => {
    const e = new MavenNotFoundError('Maven (mvn)', 'Install it: `apt-get install -y maven`.');
    expect(e).toBeInstanceOf(PrerequisiteError);
    expect(e.message).toBe('Maven (mvn) not found. Install it: `apt-get install -y maven`.');
    expect(e.name).toBe('MavenNotFoundError');
  });

  it('point at the Maven log when a fetch fails', () => {
    const e = new ArtifactFetchError('kafka', '/r/.local/logs/maven-kafka.log', '[ERROR] Could not resolve');
    expect(e.message).toContain('see /r/.local/logs/maven-kafka.log');
    expect(e.message).toContain('[ERROR] Could not resolve');
  });

  it('name the busy port and how to find its owner', () => {
    const e = new PortInUseError('kafka', 9093);
    expect(e.message).toContain('Port 9093 on 127.0.0.1');
    expect(e.message).toContain("ss -ltnp 'sport = :9093'");
  });

  it('UpFailedError lists every failure and what is still running', () => {
    const a = new ServiceStartError('kafka', 'kafka exited', '/l/kafka.log');
    const b = new ServiceStartError('cassandra', 'cassandra exited', '/l/cassandra.log');
    const e = new UpFailedError([a, b], ['kafka']);
    expect(e.failures).toEqual([a, b]);
    expect(e.started).toEqual(['kafka']);
    expect(e.cause).toBe(a);
    expect(e.message).toBe(
      'kafka exited\nSee /l/kafka.log.\ncassandra exited\nSee /l/cassandra.log.\n(Started by this call and still running: kafka.)',
    );
  });
});

describe('describe', () => {
  it('unpacks per-host errors of cassandra-driver', () => {
    const err = Object.assign(new Error('All host(s) tried for query failed.'), {
      name: 'NoHostAvailableError',
      innerErrors: { '127.0.0.1:9042': new Error('connect ECONNREFUSED 127.0.0.1:9042') },
    });
    expect(describeError(err)).toBe(
      'NoHostAvailableError: 127.0.0.1:9042: Error: connect ECONNREFUSED 127.0.0.1:9042',
    );
  });

  it('handles non-Error values', () => {
    expect(describeError('plain')).toBe('plain');
  });
});
