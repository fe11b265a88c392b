export * from './tables';
export * from './topics';
export * from './cql';
