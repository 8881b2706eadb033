import { BrokerPackageMissingError } from './broker-errors.js';

// The broker clients are optional peer dependencies: an application that uses no broker
// installs none of them, so they are imported when a publisher or source first connects.

type Importer = (name: string) => Promise<unknown>;

const nativeImport: Importer = (name) => import(name);
let importer: Importer = nativeImport;

/**
 * Loads an optional broker client package, or throws {@link BrokerPackageMissingError}
 * naming it when it is not installed (other load failures are passed on unchanged).
 */
export async function importOptional<T>(packageName: string, usedBy: string): Promise<T> {
  try {
    return (await importer(packageName)) as T;
  } catch (error) {
    const code = (error as { code?: string } | undefined)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new BrokerPackageMissingError(packageName, usedBy, error);
    throw error;
  }
}

/**
 * @internal The loader seam for tests: replaces how packages are imported (a missing package
 * is simulated by throwing Node's not-found error). Call with no argument to restore it.
 */
export function replacePackageImporter(replacement?: Importer): void {
  importer = replacement ?? nativeImport;
}
