import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigFileError } from './config-errors.js';
import { checkJobs } from './config-jobs.js';
import type { PolyrecordConfig } from './define-config.js';
import { importFile } from './import-file.js';
import { validateOperations } from './validate-operations.js';

/** The names a configuration file may have, in the order they are looked for in each folder. */
export const CONFIG_FILE_NAMES = ['polyrecord.config.ts', 'polyrecord.config.mjs', 'polyrecord.config.js'] as const;

/** A configuration file and what it exports. */
export interface LoadedConfig {
  readonly file: string;
  readonly config: PolyrecordConfig;
}

/** The nearest `polyrecord.config.{ts,mjs,js}` in `from` or a folder above it, or undefined. */
export function findConfigFile(from: string = process.cwd()): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const found = CONFIG_FILE_NAMES.map((name) => join(dir, name)).find((file) => existsSync(file));
    if (found || dirname(dir) === dir) return found;
  }
}

/**
 * Loads a configuration file: `file` when given, else the nearest one upward from the working
 * directory. TypeScript files load without a build step.
 *
 * @example
 * ```ts
 * const { file, config } = await loadConfig()
 * configureFrom(config, ConnectionManager.default, { baseDir: dirname(file) })
 * ```
 * @throws {ConfigFileError} when there is no file, it fails to load, exports no object, a job
 * in `jobs` is neither a SyncJob nor a function, or its `coordinator`, `relays` or `sagas`
 * are malformed (the error names the field).
 */
export async function loadConfig(file?: string): Promise<LoadedConfig> {
  const path = file === undefined ? findConfigFile() : resolve(file);
  if (path === undefined) throw new ConfigFileError(`no ${CONFIG_FILE_NAMES.join(', ')} in ${process.cwd()} or a folder above it; pass --config <path>`);
  if (!existsSync(path)) throw new ConfigFileError(`config file ${path} does not exist`, { file: path });
  let module: Record<string, unknown>;
  try {
    module = await importFile(path);
  } catch (error) {
    throw new ConfigFileError(`config file ${path} failed to load: ${(error as Error).message}`, { file: path, cause: error });
  }
  // A CommonJS file (`module.exports = defineConfig(...)`) has no default export: its exports are the config.
  const config = 'default' in module ? module.default : module;
  if (typeof config !== 'object' || config === null || !('connections' in config)) throw new ConfigFileError(`config file ${path} has no default export with connections; export default defineConfig({ connections: { ... } })`, { file: path, field: 'default' });
  checkJobs(config as PolyrecordConfig, path);
  validateOperations(config as PolyrecordConfig, path);
  return { file: path, config: config as PolyrecordConfig };
}
