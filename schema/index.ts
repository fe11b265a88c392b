export * from './tables';
export * from './topics';
export * from './cql';
export * from './layout';
