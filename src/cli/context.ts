import { dirname } from 'node:path';
import Table from 'cli-table3';
import { type Command, InvalidArgumentError } from 'commander';
import { ConnectionManager } from '../connection/manager.js';
import { configureFrom } from '../config/configure-from.js';
import { loadConfig, type LoadedConfig } from '../config/load-config.js';

/** The options every command accepts (declared on the program). */
export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

/**
 * Loads the config file the command line names (or the nearest one) and applies it to the
 * manager the whole program uses, exactly as an application's `configureFrom(config)` does.
 */
export async function loadProject(command: Command, manager: ConnectionManager): Promise<LoadedConfig> {
  const { config: path } = command.optsWithGlobals<GlobalOptions>();
  const loaded = await loadConfig(path);
  configureFrom(loaded.config, manager, { baseDir: dirname(loaded.file) });
  return loaded;
}

/** Writes a line to standard output. */
export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Writes a value as JSON (for `--json`); a bigint (a key, a watermark) is written as its decimal text. */
export function sayJson(value: unknown): void {
  say(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
}

/** Parses a positive whole number option (`--step`, `--batch-size`); commander reports a bad one as a usage error. */
export function positive(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('must be a whole number of 1 or more');
  return number;
}

/** An argument as a shell reads it back (for a command line printed to run again): quoted when it holds anything but plain characters. */
export function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** Collects a repeatable option's values (`--connection a --connection b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A table for the terminal; plain (no colour codes) when the output goes to a file or a pipe. */
export function table(head: string[]): InstanceType<typeof Table> {
  return new Table({ head, ...(process.stdout.isTTY ? {} : { style: { head: [], border: [] } }) });
}
