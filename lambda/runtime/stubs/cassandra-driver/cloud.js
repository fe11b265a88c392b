// What the Lambda bundles carry instead of cassandra-driver's DataStax Astra support (lib/bundle.ts, MODULE_STUBS):
// the driver's client calls `init(options)` when it connects, and the real one returns at once unless the client
// has a `cloud.secureConnectBundle`, which no function sets. Leaving it out leaves out `https` and adm-zip too.
/* global exports */
'use strict';
const reason =
  'DataStax Astra support (cloud.secureConnectBundle) is not in this bundle: the functions connect to Amazon ' +
  'Keyspaces or Cassandra by contact points (lib/bundle.ts, MODULE_STUBS).';

exports.init = async (options) => {
  if (options && options.cloud) throw new Error(reason);
};
exports.checkServerIdentity = () => {
  throw new Error(reason);
};
