import * as driver from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { auth, Client, errors, types } from '../../../lambda/runtime/cassandra-driver';

describe('the parts of cassandra-driver the functions require module by module', () => {
  it('are the very objects the package index exports', () => {
    // GIVEN the driver's own index, WHEN the functions' modules are compared with it, THEN each is the same object
    // (a driver upgrade that moves one fails here, not in Lambda).
    expect(Client).toBe(driver.Client);
    expect(auth).toBe(driver.auth);
    expect(errors).toBe(driver.errors);
    expect(types).toBe(driver.types);
  });

  it('carry what the runtime uses from them', () => {
    expect(typeof auth.PlainTextAuthProvider).toBe('function');
    expect(new errors.ResponseError(0x2200, 'invalid')).toBeInstanceOf(Error);
    expect(types.consistencies.localQuorum).toBe(6);
    expect(types.Long.fromString('9007199254740993').toString()).toBe('9007199254740993');
  });
});
