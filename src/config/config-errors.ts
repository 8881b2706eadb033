import { PolyrecordError } from '../errors.js';

/**
 * A configuration file could not be found, loaded or understood. `file` names it; `field`
 * names the offending key when the file loaded but its contents are wrong.
 *
 * @example
 * ```ts
 * try { await loadConfig() }
 * catch (e) { if (e instanceof ConfigFileError) console.error(e.message) } // names the file
 * ```
 */
export class ConfigFileError extends PolyrecordError {
  readonly file: string | undefined;
  readonly field: string | undefined;

  constructor(message: string, details: { file?: string; field?: string; cause?: unknown } = {}) {
    super('E_CONFIG_FILE', message, { cause: details.cause });
    this.file = details.file;
    this.field = details.field;
  }
}
