// The driver's modules that lambda/runtime/cassandra-driver.ts requires, typed as the package index declares
// what it re-exports from them (cassandra-driver's index.js: `exports.Client = require('./lib/client')`, ...).
declare module 'cassandra-driver/lib/client' {
  import { Client } from 'cassandra-driver';
  export = Client;
}
declare module 'cassandra-driver/lib/auth' {
  import { auth } from 'cassandra-driver';
  export = auth;
}
declare module 'cassandra-driver/lib/errors' {
  import { errors } from 'cassandra-driver';
  export = errors;
}
declare module 'cassandra-driver/lib/types' {
  import { types } from 'cassandra-driver';
  export = types;
}
