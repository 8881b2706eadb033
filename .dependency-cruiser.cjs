// The dependency check behind `npm run check:deps` (and test/architecture.test.ts, so CI runs it).
//
// It cruises two trees:
//  - src/, parsed with swc: every import, type-only ones included, because a layer must not
//    even name a type of a layer above it. (TypeScript 7, the project's compiler, ships no
//    parser API for dependency-cruiser; swc parses the sources instead.)
//  - .build/deps/src/, what tsc emits for the package build (see scripts/check-deps.mjs):
//    TypeScript drops type-only imports there, so every import left runs when the module
//    loads. Circles are forbidden there only: a type-only circle is harmless (it is erased
//    before anything runs), while a runtime circle makes load order decide which module sees
//    another's exports as `undefined`.
//
// Layers, bottom to top (docs/architecture.md): util/, errors.ts, context/ → connection/
// (itself: the core → session/ → manager.ts) → transaction/ → model/ → sync/, reading/ →
// config/ (the configuration file) → migrations/, ops/ → schema/ (models compared with their
// tables, migrations written from models) → index.ts, and cli/ (the `polyrecord` command) on top
// of everything but index.ts. A module may import its own layer and those
// below it, never one above.

const SRC = '^src/';

/** A rule forbidding `from` to import any of `to` (both folder or file paths under src/). */
function notUp(name, comment, from, to) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: `${SRC}(${from.join('|')})` },
    to: { path: `${SRC}(${to.join('|')})` },
  };
}

const TOOLING = ['config/', 'migrations/', 'ops/', 'schema/', 'cli/'];
const ABOVE_CONNECTION = ['transaction/', 'model/', 'sync/', 'reading/', 'index\\.ts$', ...TOOLING];

module.exports = {
  forbidden: [
    {
      name: 'no-runtime-circle',
      comment: 'A circle of imports that remain at run time (type-only imports are erased and allowed to form circles).',
      severity: 'error',
      from: { path: '^\\.build/deps/src/' },
      to: { circular: true },
    },
    notUp('base-imports-nothing-above', 'util/, errors.ts and context/ are the ground floor: they import no other layer.', ['util/', 'errors\\.ts$', 'context/'], ['connection/', ...ABOVE_CONNECTION]),
    notUp('connection-not-up', 'connection/ (config, dialects, pools, the executor, sessions, the manager) imports only the ground floor.', ['connection/'], ABOVE_CONNECTION),
    notUp('connection-core-not-session', 'The connection core (one database: config, dialects, pool, executor) does not know sessions or the manager.', ['connection/(?!session/|manager\\.ts$)'], ['connection/session/', 'connection/manager\\.ts$']),
    notUp('session-not-manager', 'A local transaction needs one connection, not the registry of names.', ['connection/session/'], ['connection/manager\\.ts$']),
    notUp('transaction-not-up', 'transaction/ (cross-database transactions, sagas, logs, recovery) builds on connections, not models.', ['transaction/'], ['model/', 'sync/', 'reading/', 'index\\.ts$', ...TOOLING]),
    notUp('model-not-up', 'model/ offers registration points (option-participants.ts) instead of importing sync/ or reading/.', ['model/'], ['sync/', 'reading/', 'index\\.ts$', ...TOOLING]),
    notUp('sync-reading-not-up', 'sync/ and reading/ sit side by side under index.ts.', ['sync/', 'reading/'], ['index\\.ts$', ...TOOLING]),
    notUp('config-not-up', 'config/ (the configuration file: defineConfig, configureFrom, loading) applies settings to connections; it names the types of the coordinator, relays and sagas it declares (transaction/, sync/) but knows nothing of models or migrations.', ['config/'], ['model/', 'reading/', 'migrations/', 'ops/', 'schema/', 'cli/', 'index\\.ts$']),
    notUp('migrations-not-up', 'migrations/ runs knex migrations per connection; it needs config/ and connection/ only.', ['migrations/'], ['transaction/', 'model/', 'sync/', 'reading/', 'ops/', 'schema/', 'cli/', 'index\\.ts$']),
    notUp('ops-not-up', 'ops/ (outbox, in-doubt branches, sagas for operators) composes config/, sync/ and transaction/; the command line and a dashboard call it.', ['ops/'], ['migrations/', 'schema/', 'cli/', 'index\\.ts$']),
    notUp('schema-not-up', 'schema/ reads models, sync declarations, the config and writes migrations; only the package entry and cli/ sit above it.', ['schema/'], ['cli/', 'index\\.ts$']),
    notUp('library-not-cli', 'cli/ is the program on top: the library never imports it.', ['(?!cli/)'], ['cli/']),
    notUp('cli-not-index', 'cli/ imports the layers it uses, not the package entry (which loads every layer).', ['cli/'], ['index\\.ts$']),
  ],
  options: {
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
