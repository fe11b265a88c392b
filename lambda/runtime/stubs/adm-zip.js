// What the Lambda bundles carry instead of adm-zip (see BUNDLE_ALIASES in lib/functions.ts): cassandra-driver
// loads it at start, but only its DataStax Astra support (`cloud.secureConnectBundle`) would ever call it.
/* global module */
'use strict';
module.exports = function AdmZip() {
  throw new Error(
    'adm-zip is not in this bundle: cassandra-driver needs it only for cloud.secureConnectBundle, which the ' +
      'functions do not use (lib/functions.ts, BUNDLE_ALIASES).',
  );
};
