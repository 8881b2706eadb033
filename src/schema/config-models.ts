import { glob } from 'tinyglobby';
import { ConfigError } from '../errors.js';
import { importFile } from '../config/import-file.js';
import type { PolyrecordConfig } from '../config/define-config.js';
import { metaOf, type ModelMeta } from '../model/metadata.js';

/** A class decorated with `@Model`, else undefined. */
export function modelMetaOf(value: unknown): ModelMeta | undefined {
  if (typeof value !== 'function') return undefined;
  const meta = metaOf(value);
  return meta?.table === undefined ? undefined : meta;
}

/**
 * The models of a configuration: `models` as an array of classes, or a glob of files (relative to
 * `baseDir`) whose exported model classes count, loaded like the config file itself. Each model
 * once, in the order given (files in path order).
 */
export async function configModels(models: PolyrecordConfig['models'], baseDir: string): Promise<ModelMeta[]> {
  if (models === undefined) return [];
  if (typeof models === 'string') return modelsFromFiles(models, baseDir);
  if (!Array.isArray(models)) throw new ConfigError('models', 'must be an array of model classes or a glob of model files, e.g. "src/models/*.ts"');
  return unique(
    models.map((model, index) => {
      const meta = modelMetaOf(model);
      if (!meta) throw new ConfigError(`models[${index}]`, `${describe(model)} is not a model class (decorated with @Model)`);
      return meta;
    }),
  );
}

async function modelsFromFiles(pattern: string, baseDir: string): Promise<ModelMeta[]> {
  const files = (await glob(pattern, { cwd: baseDir, absolute: true, ignore: ['**/node_modules/**', '**/*.d.ts'] })).sort();
  if (files.length === 0) throw new ConfigError('models', `the glob "${pattern}" matches no file in ${baseDir}`);
  const metas: ModelMeta[] = [];
  for (const file of files) {
    let module: Record<string, unknown>;
    try {
      module = await importFile(file);
    } catch (error) {
      throw new ConfigError('models', `model file ${file} failed to load: ${(error as Error)?.message ?? String(error)}`);
    }
    for (const value of Object.values(module)) {
      const meta = modelMetaOf(value);
      if (meta) metas.push(meta);
    }
  }
  return unique(metas);
}

function unique(metas: ModelMeta[]): ModelMeta[] {
  return [...new Set(metas)];
}

function describe(value: unknown): string {
  return typeof value === 'function' ? value.name || 'an anonymous class' : JSON.stringify(value) ?? String(value);
}
