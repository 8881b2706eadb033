// Runs the command from its sources as CommonJS through tsx's CommonJS hook, the way the built bin
// (dist/cjs) runs and loads config, model and migration files (src/config/import-file.ts registers
// the same hook without a namespace). Everything then shares Node's one module cache, so a model
// class a config file imports from src/ is the very class the command sees (through tsx's ES
// module loader the command and the config would hold two copies of src/).
require('tsx/cjs/api').register();
require('../../src/cli/main.ts');
