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

// Shared with the dashboard, which shows the same ages.
export { formatAge } from '../util/format-age.js';

/** The first line of a text, cut to `max` characters (for a table cell). */
export function cell(text: string | null | undefined, max = 60): string {
  const line = (text ?? '').split('\n')[0]!;
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** Parses a whole number option (`--limit 20`) of at least `min`; a bad value exits 2 naming the flag. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min) throw new InvalidArgumentError(`must be a whole number of ${min} or more`);
    return number;
  };
}
