import { createRequire } from 'node:module';
import { register } from 'tsx/cjs/api';

/**
 * Loads a module by path: TypeScript (.ts, .mts, .cts) as well as JavaScript, with no build
 * step. tsx compiles TypeScript in memory with esbuild, as the project's tsconfig.json says
 * (legacy decorators included), for this load and what it imports; its hook is removed again
 * afterwards, so the rest of the process loads modules as before. It loads through `require`,
 * which works the same from the package's CommonJS build and from ES modules (tsx's
 * `tsImport` cannot start its loader from CommonJS); ES module files load through Node's
 * require of ES modules or tsx's transform.
 *
 * The hook is not namespaced (tsx's `require` API would be): what the file imports goes
 * through Node's one module cache, so a config file's `import 'polyrecord'` is the very copy
 * the `polyrecord` command runs, and the models and SyncJobs it defines live in the
 * ConnectionManager the command configures, and a model file that both the config imports and
 * a `models` glob names is one module, its classes defined once.
 */
export async function importFile(path: string): Promise<Record<string, unknown>> {
  const unregister = register();
  try {
    return createRequire(path)(path) as Record<string, unknown>;
  } finally {
    unregister();
  }
}
