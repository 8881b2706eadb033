// Runs the command from its sources as CommonJS, through tsx's require API: the way the built bin
// (dist/cjs) runs, and the way it loads config, model and migration files. Everything then shares
// one module cache, so a model class a config file imports from src/ is the very class the command
// sees (through tsx's ES module loader the command and the config would hold two copies of src/).
require('tsx/cjs/api').require('../../src/cli/main.ts', __filename);
