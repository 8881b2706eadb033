#!/usr/bin/env node
// The `polyrecord` executable (package.json "bin"); docs/cli.md describes the commands.
import { ConnectionManager } from '../connection/manager.js';
import { runCli } from './run.js';
import { exitOnSignals } from './signals.js';

exitOnSignals(ConnectionManager.default);
void runCli(process.argv).then((code) => {
  process.exitCode = code;
});
