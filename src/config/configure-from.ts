import { ConfigError } from '../errors.js';
import { ConnectionManager } from '../connection/manager.js';
import type { PolyrecordConfig } from './define-config.js';

/** A configuration applied to a manager, with the folder its relative paths start from. */
export interface AppliedConfig {
  readonly config: PolyrecordConfig;
  readonly baseDir: string;
}

// The migrations of a manager's connections are not connection settings: they live here, per
// manager, so `migrate({ manager })` finds what `configureFrom` applied to that manager.
const applied = new WeakMap<ConnectionManager, AppliedConfig>();

const KNOWN_KEYS = new Set(['connections', 'aliases', 'models', 'migrations', 'jobs', 'coordinator', 'relays', 'sagas']);

/**
 * Applies a configuration (the default export of `polyrecord.config.ts`) to a manager:
 * every connection, then every alias. The `polyrecord` command does the same, so the
 * application and the command line never disagree. Relative migration directories start
 * from `options.baseDir` (default: the working directory).
 *
 * @example
 * ```ts
 * import config from './polyrecord.config.js'
 * import { configureFrom } from 'polyrecord'
 *
 * configureFrom(config) // ConnectionManager.default now has config.connections and config.aliases
 * ```
 */
export function configureFrom(config: PolyrecordConfig, manager: ConnectionManager = ConnectionManager.default, options: { baseDir?: string } = {}): void {
  checkShape(config);
  for (const [name, settings] of Object.entries(config.connections)) manager.configure(name, settings);
  for (const [alias, target] of Object.entries(config.aliases ?? {})) manager.alias(alias, target);
  applied.set(manager, { config, baseDir: options.baseDir ?? process.cwd() });
}

/** The configuration last applied to `manager` with {@link configureFrom}, if any. */
export function appliedConfig(manager: ConnectionManager): AppliedConfig | undefined {
  return applied.get(manager);
}

/** Rejects what `configure()` would not catch: unknown keys, migrations of unknown connections. */
function checkShape(config: PolyrecordConfig): void {
  if (typeof config !== 'object' || config === null) throw new ConfigError('config', 'the default export must be an object (defineConfig({ connections: { ... } }))');
  for (const key of Object.keys(config)) if (!KNOWN_KEYS.has(key)) throw new ConfigError(key, `unknown key; expected one of ${[...KNOWN_KEYS].join(', ')}`);
  if (typeof config.connections !== 'object' || config.connections === null) throw new ConfigError('connections', 'must be an object of connection name → settings');
  for (const [name, settings] of Object.entries(config.migrations ?? {})) {
    if (!(name in config.connections)) throw new ConfigError(`migrations.${name}`, `no connection named "${name}" in connections`);
    if (typeof settings?.directory !== 'string') throw new ConfigError(`migrations.${name}.directory`, 'must be a path');
    if (settings.tableName !== undefined && typeof settings.tableName !== 'string') throw new ConfigError(`migrations.${name}.tableName`, 'must be a table name');
  }
}
