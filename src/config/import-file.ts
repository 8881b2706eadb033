import { createJiti } from 'jiti';

/**
 * Imports a module by path: TypeScript (.ts, .mts, .cts, legacy decorators and their metadata
 * included) as well as JavaScript, with no build step. jiti compiles TypeScript in memory for
 * this import and what it imports, without changing how the rest of the process loads modules,
 * and works the same from the CommonJS package build and from ES modules.
 */
export async function importFile(path: string): Promise<Record<string, unknown>> {
  // No cache between runs: a migration written a moment ago must be read as it is now.
  const jiti = createJiti(path, { fsCache: false, moduleCache: false });
  return (await jiti.import(path)) as Record<string, unknown>;
}
