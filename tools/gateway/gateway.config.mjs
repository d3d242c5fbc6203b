// Hive Gateway configuration for serving the composed supergraph.
//
// Run as `hive-gateway supergraph <supergraph.graphql> -c tools/gateway/gateway.config.mjs`.
// Every subgraph applies its own access rules to the caller, so the gateway must pass the
// caller's credentials and declared purpose of use through to each subgraph request, and
// nothing else from the client.
import { defineConfig } from '@graphql-hive/gateway';

const FORWARDED = ['authorization', 'x-purpose-of-use'];

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      const headers = {};
      for (const name of FORWARDED) {
        const value = request.headers.get(name);
        if (value) headers[name] = value;
      }
      return headers;
    },
  },
});
