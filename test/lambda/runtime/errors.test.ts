import { describe, expect, it } from 'vitest';
import { errors } from '../../../lambda/runtime/cassandra-driver';
import { errorText, RecordError } from '../../../lambda/runtime/errors';

describe('errorText', () => {
  it("GIVEN the driver's NoHostAvailableError THEN one line with each host's answer, none of the stack", () => {
    // GIVEN the error a write refused by every host throws (the driver formats its first answer with its stack)
    const error = new errors.NoHostAvailableError({
      '127.0.0.1:9042': new errors.ResponseError(0x1000, 'Cannot achieve consistency level QUORUM'),
      '127.0.0.2:9042': new Error('connect ECONNREFUSED 127.0.0.2:9042'),
    });
    expect(String(error)).toContain('\n    at ');

    // THEN
    expect(errorText(error)).toBe(
      'NoHostAvailableError: All host(s) tried for query failed: ' +
        '127.0.0.1:9042: ResponseError: Cannot achieve consistency level QUORUM; ' +
        '127.0.0.2:9042: Error: connect ECONNREFUSED 127.0.0.2:9042',
    );
  });

  it('GIVEN a NoHostAvailableError that tried no host THEN it says why none was tried and what to check', () => {
    // GIVEN what the driver throws once it has marked every node down: no host's answer at all
    const error = new errors.NoHostAvailableError({});
    // THEN the driver's line, and what it means
    expect(errorText(error)).toBe(
      'NoHostAvailableError: All host(s) tried for query failed. No host was tried: the driver has marked every ' +
        'node down after its connections failed; check that Cassandra (or Keyspaces) is up and reachable from here.',
    );
  });

  it('GIVEN any other error THEN its name and message, as String() gives them', () => {
    const error = new RecordError('schema', 'The job’s key is "": expected a non-empty string.');
    expect(errorText(error)).toBe(String(error));
    expect(errorText(new TypeError('x is not a function'))).toBe('TypeError: x is not a function');
  });

  it('GIVEN a thrown value that is not an Error THEN it as a string', () => {
    expect(errorText('refused')).toBe('refused');
    expect(errorText(undefined)).toBe('undefined');
  });
});
