import { CommanderError } from 'commander';
import { ConnectionManager } from '../connection/manager.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { buildProgram } from './program.js';

/**
 * Runs the command line `argv` (as `process.argv`) and returns the exit code: 0 done, 1 failed,
 * 2 used wrongly (a bad flag, a missing or broken config file, an unknown connection). Errors
 * are printed as one message, with the stack only under `--verbose`. Connections are closed
 * before it returns.
 */
export async function runCli(argv: readonly string[], manager: ConnectionManager = ConnectionManager.default): Promise<number> {
  const program = buildProgram(manager);
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    // Commander has already printed its own message (or the help, which exits 0).
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const verbose = argv.includes('--verbose');
    process.stderr.write(`polyrecord: ${verbose && error instanceof Error ? error.stack : (error as Error)?.message ?? String(error)}\n`);
    return exitCodeOf(error);
  } finally {
    await manager.closeAll();
  }
}
