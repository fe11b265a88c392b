// What the Lambda bundles carry instead of cassandra-driver's insights client (lib/bundle.ts, MODULE_STUBS). The
// driver's client creates one and calls `init()` once connected, `shutdown()` when closed. The real one reports to
// DataStax Enterprise 6.7 and later only: against Cassandra or Amazon Keyspaces its `init()` finds no DSE host and
// does nothing, which is what this one does.
/* global module */
'use strict';
module.exports = class InsightsClient {
  init() {}
  shutdown() {}
};
