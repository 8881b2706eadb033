import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';

/**
 * Imports a module by path: TypeScript (.ts, .mts, .cts) as well as JavaScript, with no
 * build step. tsx compiles TypeScript in memory for this one import, and the `import()` itself
 * goes through tsx too: the package build is CommonJS, where tsc would turn an `import()` into
 * a `require()` that cannot load ES modules on Node 20.
 */
export async function importFile(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  return (await tsImport(url, url)) as Record<string, unknown>;
}

/** A module's default export, unwrapping the extra `default` a CommonJS-shaped module gets. */
export function defaultExport(module: Record<string, unknown>): unknown {
  const value = module.default;
  return value !== null && typeof value === 'object' && 'default' in value && !('connections' in value) ? (value as { default: unknown }).default : value;
}
