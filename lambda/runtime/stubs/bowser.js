// What the Lambda bundles carry instead of bowser (see BUNDLE_ALIASES in lib/bundle.ts): @aws-sdk/core loads it
// only to parse a browser's user agent, which never happens in Node.js.
/* global exports */
'use strict';
exports.parse = () => {
  throw new Error(
    'bowser (a browser user-agent parser) is not in this bundle: lib/bundle.ts, BUNDLE_ALIASES.',
  );
};
