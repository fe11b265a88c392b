// What the Lambda bundles carry instead of cassandra-driver's graph executor (lib/bundle.ts, MODULE_STUBS): the
// driver's client creates one at construction and uses it only for `executeGraph()`, a DataStax Enterprise Graph
// call the functions never make.
/* global module */
'use strict';
module.exports = class GraphExecutor {
  async send() {
    throw new Error(
      'DSE Graph (client.executeGraph) is not in this bundle: the functions use CQL only (lib/bundle.ts, MODULE_STUBS).',
    );
  }
};
