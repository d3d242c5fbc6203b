// Composition of the Shouhu subgraph with agencies' own subgraphs into a Federation supergraph.
//
// Read by `mesh-compose -c tools/gateway/mesh.config.mjs -o <supergraph.graphql>`. Endpoints come
// from the environment so that the committed file works on any ports (the tests use free loopback
// ports):
//   GATEWAY_SUBGRAPHS   JSON list of {"name": ..., "url": ...}, e.g.
//                       [{"name":"shouhu","url":"http://127.0.0.1:8000/graphql"}]
//   GATEWAY_SCHEMA_AUTHORIZATION
//                       optional Authorization header value (e.g. "Bearer <jwt>") sent only while
//                       fetching each subgraph's SDL: Shouhu answers nothing, not even
//                       `_service { sdl }`, without a token.
//
// Subgraphs are read as Federation subgraphs (`_service { sdl }`), never by introspection: Shouhu
// keeps introspection off outside dev mode. The schema-fetch header is deliberately not given as
// `operationHeaders`, which compose-cli would write into the supergraph's @transport directive;
// at run time the gateway forwards each caller's own token instead (gateway.config.mjs).
import { defineConfig, loadGraphQLHTTPSubgraph } from '@graphql-mesh/compose-cli';

const raw = process.env.GATEWAY_SUBGRAPHS;
if (!raw) {
  throw new Error('GATEWAY_SUBGRAPHS is not set: a JSON list of {"name", "url"}');
}
const subgraphs = JSON.parse(raw);
const authorization = process.env.GATEWAY_SCHEMA_AUTHORIZATION;
const schemaHeaders = authorization ? { Authorization: authorization } : {};

export const composeConfig = defineConfig({
  subgraphs: subgraphs.map(({ name, url }) => ({
    sourceHandler: loadGraphQLHTTPSubgraph(name, {
      endpoint: url,
      federation: true,
      schemaHeaders,
    }),
  })),
});
