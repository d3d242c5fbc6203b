#!/usr/bin/env node
// Offline Cypher checker built on Neo4j's own Cypher front end
// (@neo4j-cypher/language-support: the ANTLR grammar plus Neo4j's semantic
// analysis compiled to JavaScript, as used by Neo4j's VS Code extension).
//
// Why: the platform's Neo4j adapter cannot be run against a real Neo4j server
// in this workplace, so the test suite passes every statement the adapter can
// send through this script and fails on any error or warning.
//
// Input (stdin, JSON):
//   {"statements": ["MATCH ...", ...],
//    "schema": {                       // optional, a DbSchema from the package
//      "labels": [...], "relationshipTypes": [...], "propertyKeys": [...],
//      "parameters": {"name": null, ...},   // omit: parameters are bound by the driver
//      "functions": {...}, "procedures": {...},   // omit: Neo4j's built-ins
//      "defaultLanguage": "CYPHER 5"}}
// Output (stdout, JSON), one entry per input statement, in order:
//   [{"index": 0, "diagnostics": [{"severity": "error", "message": "...",
//                                   "line": 1, "column": 8}]}]
//   line and column are 1-based, like the positions in Neo4j's own errors.
// Exit codes: 0 whenever the statements could be linted (whatever they
// contain), 2 on bad input, 3 when the linter package cannot be loaded.

import { readFileSync } from 'node:fs';

const EXIT_BAD_INPUT = 2;
const EXIT_UNAVAILABLE = 3;

function fail(code, message) {
  process.stderr.write(`cypher-lint: ${message}\n`);
  process.exit(code);
}

let ls;
try {
  ls = await import('@neo4j-cypher/language-support');
} catch (err) {
  fail(
    EXIT_UNAVAILABLE,
    `cannot load @neo4j-cypher/language-support (${err.message}); ` +
      'run `npm ci --prefix tools/cypher-lint` (or `make test`)',
  );
}
const { lintCypherQuery, parseParameters, parseStatementsStrs, testData, allCypherVersions } = ls;

// Neo4j 5 is the server the adapter targets; its Cypher is "CYPHER 5".
const DEFAULT_LANGUAGE = 'CYPHER 5';

// LSP DiagnosticSeverity numbers -> names.
const SEVERITY = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };

// Namespaces of plugins (APOC, Graph Data Science) that a plain Neo4j server
// does not have: their functions and procedures are not treated as present.
const PLUGIN_NAMESPACE = /^(apoc|gds)\./;

/**
 * Neo4j's built-in function and procedure signatures, per Cypher version.
 *
 * Why: lintCypherQuery only reports unknown functions/procedures, and
 * deprecated ones (e.g. id()), when the schema carries their signatures; with
 * no `functions` at all it silently accepts any name (foo(), the removed
 * distance()). The package ships the `SHOW FUNCTIONS` / `SHOW PROCEDURES`
 * output of a real Neo4j server as the exported `testData.mockSchema`; that
 * dump also lists APOC and GDS, which we drop (built-in functions are the ones
 * flagged isBuiltIn; procedures are kept unless in a plugin namespace).
 */
function builtInSignatures() {
  const mock = testData?.mockSchema;
  if (!mock?.functions?.[DEFAULT_LANGUAGE] || !mock?.procedures?.[DEFAULT_LANGUAGE]) {
    fail(
      EXIT_UNAVAILABLE,
      'the installed @neo4j-cypher/language-support no longer ships testData.mockSchema ' +
        'with Neo4j function/procedure signatures; pass "functions" and "procedures" in the schema',
    );
  }
  const keep = (registry, predicate) =>
    Object.fromEntries(
      Object.entries(registry).map(([version, byName]) => [
        version,
        Object.fromEntries(Object.entries(byName).filter(([name, sig]) => predicate(name, sig))),
      ]),
    );
  return {
    functions: keep(mock.functions, (name, sig) => sig.isBuiltIn === true && !PLUGIN_NAMESPACE.test(name)),
    procedures: keep(mock.procedures, (name) => !PLUGIN_NAMESPACE.test(name)),
  };
}

function readInput() {
  let raw;
  try {
    raw = readFileSync(0, 'utf8');
  } catch (err) {
    fail(EXIT_BAD_INPUT, `cannot read stdin: ${err.message}`);
  }
  let input;
  try {
    input = JSON.parse(raw);
  } catch (err) {
    fail(EXIT_BAD_INPUT, `stdin is not valid JSON: ${err.message}`);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    fail(EXIT_BAD_INPUT, 'expected a JSON object {"statements": [...], "schema": {...}}');
  }
  const { statements, schema = {} } = input;
  if (!Array.isArray(statements)) {
    fail(EXIT_BAD_INPUT, '"statements" must be an array of strings');
  }
  statements.forEach((s, i) => {
    if (typeof s !== 'string') fail(EXIT_BAD_INPUT, `"statements"[${i}] is not a string`);
  });
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    fail(EXIT_BAD_INPUT, '"schema" must be a JSON object (a DbSchema) when given');
  }
  for (const key of ['labels', 'relationshipTypes', 'propertyKeys']) {
    if (key in schema && !(Array.isArray(schema[key]) && schema[key].every((x) => typeof x === 'string'))) {
      fail(EXIT_BAD_INPUT, `"schema.${key}" must be an array of strings`);
    }
  }
  if ('parameters' in schema && (schema.parameters === null || typeof schema.parameters !== 'object' || Array.isArray(schema.parameters))) {
    fail(EXIT_BAD_INPUT, '"schema.parameters" must be an object mapping parameter names to values');
  }
  if ('defaultLanguage' in schema && !allCypherVersions.includes(schema.defaultLanguage)) {
    fail(EXIT_BAD_INPUT, `"schema.defaultLanguage" must be one of ${allCypherVersions.join(', ')}`);
  }
  return { statements, schema };
}

function position(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

/**
 * The Neo4j driver sends one query string per run, and the server accepts
 * exactly one statement in it (a trailing `;` is fine). The language service
 * happily lints a `;`-separated script, so these two cases are checked here.
 */
function statementCountDiagnostics(query) {
  const parts = parseStatementsStrs(query);
  if (parts.length === 0) {
    return [{ severity: 'error', message: 'Empty query: there is no Cypher statement to run.', line: 1, column: 1 }];
  }
  if (parts.length > 1) {
    let offset = parts[0].length;
    if (!query.startsWith(parts[0])) offset = 0;
    while (offset < query.length && /\s/.test(query[offset])) offset += 1;
    return [
      {
        severity: 'error',
        message: `Expected exactly one statement per query but got: ${parts.length}`,
        ...position(query, offset),
      },
    ];
  }
  return [];
}

function lintOne(query, baseSchema, parametersGiven) {
  const schema = parametersGiven
    ? baseSchema
    : // Parameters are bound by the driver at run time, not declared in an
      // editor session: declare the ones this statement uses so that the
      // "Parameter $x is not defined." check does not fire.
      { ...baseSchema, parameters: Object.fromEntries(parseParameters(query, false).map((p) => [p, null])) };
  // Console commands (:param, :use ...) are a Browser/cypher-shell feature,
  // not something the driver can send.
  const { diagnostics } = lintCypherQuery(query, schema, { consoleCommandsEnabled: false });
  const found = diagnostics.map((d) => ({
    severity: SEVERITY[d.severity] ?? String(d.severity ?? 'error'),
    message: d.message,
    line: d.range.start.line + 1,
    column: d.range.start.character + 1,
  }));
  return statementCountDiagnostics(query).concat(found);
}

const { statements, schema: given } = readInput();
const baseSchema = {
  ...builtInSignatures(),
  defaultLanguage: DEFAULT_LANGUAGE,
  ...given,
};
const parametersGiven = 'parameters' in given;

const results = statements.map((query, index) => ({ index, diagnostics: lintOne(query, baseSchema, parametersGiven) }));
process.stdout.write(`${JSON.stringify(results)}\n`);
