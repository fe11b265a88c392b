// What the Lambda bundles carry instead of @aws-sdk/credential-provider-node, the SDK's default credential chain
// (see BUNDLE_ALIASES in lib/bundle.ts): every SDK client of the functions is given the function's
// credentials from the environment (lambda/runtime/aws-credentials.ts), so the chain is never asked.
/* global exports */
'use strict';
exports.defaultProvider = () => async () => {
  throw new Error(
    "The SDK's default credential chain is not in this bundle: give the client `credentials` " +
      '(environmentCredentials() in lambda/runtime/aws-credentials.ts; lib/bundle.ts, BUNDLE_ALIASES).',
  );
};
