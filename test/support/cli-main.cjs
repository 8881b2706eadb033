// Runs the `polyrecord` command from src/ as CommonJS, through tsx's require API: the way the
// built bin runs, and the way the command loads a config file. So a test config that imports
// src/index.ts shares the command's copy of polyrecord (its ConnectionManager.default, its model
// registry), as a user's config importing 'polyrecord' shares the bin's. Through tsx's ES module
// loader the command would be an ES module graph and the config a second, CommonJS one.
require('tsx/cjs/api').require('../../src/cli/main.ts', __filename);
