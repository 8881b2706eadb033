import { require as tsxRequire } from 'tsx/cjs/api';

/**
 * Loads a module by path: TypeScript (.ts, .mts, .cts) as well as JavaScript, with no build
 * step. tsx compiles TypeScript in memory with esbuild, as the project's tsconfig.json says
 * (legacy decorators included), for this load and what it imports, without changing how the
 * rest of the process loads modules. It loads through `require`, which works the same from the
 * package's CommonJS build and from ES modules (tsx's `tsImport` cannot start its loader from
 * CommonJS); ES module files load through Node's require of ES modules or tsx's transform.
 */
export async function importFile(path: string): Promise<Record<string, unknown>> {
  return tsxRequire(path, path) as Record<string, unknown>;
}
