import { ModelDefinitionError } from '../../errors.js';
import type { ColumnMeta, ModelMeta } from '../metadata.js';
import { metaOf } from '../metadata.js';
import { snakeCase } from '../naming.js';
import { RelationError } from './relation-errors.js';
import type { BelongsToOptions, HasManyOptions, ManyToManyOptions, RelationDef, ResolvedRelation } from './relation-types.js';

const resolved = new WeakMap<ModelMeta, Map<string, ResolvedRelation>>();

/** The relations a model declares, by name. */
export function relationNames(meta: ModelMeta): string[] {
  return [...meta.relations.keys()];
}

/**
 * The relation `name` of a model, its keys checked against both models on first use
 * (a ModelDefinitionError names the model, the relation and the bad key); an unknown
 * name is a {@link RelationError} listing the relations the model has.
 */
export function relationOf(meta: ModelMeta, name: string): ResolvedRelation {
  let cache = resolved.get(meta);
  const hit = cache?.get(name);
  if (hit) return hit;
  const def = typeof name === 'string' ? meta.relations.get(name) : undefined;
  if (!def) throw new RelationError(meta.name, String(name), relationNames(meta), 'no such relation');
  const relation = resolve(meta, def);
  if (!cache) resolved.set(meta, (cache = new Map()));
  cache.set(name, relation);
  return relation;
}

function resolve(owner: ModelMeta, def: RelationDef): ResolvedRelation {
  const where = `${owner.name}.${def.property}`;
  const target = def.related();
  const related = typeof target === 'function' ? metaOf(target) : undefined;
  if (!related?.table) throw new ModelDefinitionError(`${where}: the related model ${typeof target === 'function' ? target.name : String(target)} is not a model decorated with @Model`);
  const key = (meta: ModelMeta, option: string, property: string | undefined, fallback: () => ColumnMeta): ColumnMeta => {
    if (property === undefined) return fallback();
    const column = meta.byProperty.get(property);
    if (!column) throw new ModelDefinitionError(`${where}: ${option} "${property}" is not a column property of ${meta.name} (it has ${[...meta.byProperty.keys()].join(', ')})`);
    return column;
  };
  const byDefaultName = (meta: ModelMeta, option: string, of: ModelMeta) => () => {
    const property = `${lowerFirst(of.name)}Id`;
    const column = meta.byProperty.get(property);
    if (!column) throw new ModelDefinitionError(`${where}: ${meta.name} has no column property "${property}" (the default ${option}); name it with { ${option}: '...' }`);
    return column;
  };
  const primary = (meta: ModelMeta) => () => meta.primaryKey;
  const base = { kind: def.kind, name: def.property, owner, related };
  switch (def.kind) {
    case 'hasMany':
    case 'hasOne': {
      const options = def.options as HasManyOptions;
      return {
        ...base,
        parentKey: key(owner, 'localKey', options.localKey, primary(owner)),
        childKey: key(related, 'foreignKey', options.foreignKey, byDefaultName(related, 'foreignKey', owner)),
        many: def.kind === 'hasMany',
        pivot: undefined,
      };
    }
    case 'belongsTo': {
      const options = def.options as BelongsToOptions;
      return {
        ...base,
        parentKey: key(owner, 'foreignKey', options.foreignKey, byDefaultName(owner, 'foreignKey', related)),
        childKey: key(related, 'ownerKey', options.ownerKey, primary(related)),
        many: false,
        pivot: undefined,
      };
    }
    case 'manyToMany': {
      const options = def.options as ManyToManyOptions;
      return {
        ...base,
        parentKey: key(owner, 'localKey', options.localKey, primary(owner)),
        childKey: key(related, 'relatedKey', options.relatedKey, primary(related)),
        many: true,
        pivot: {
          table: options.pivotTable ?? [snakeCase(owner.name), snakeCase(related.name)].sort().join('_'),
          foreignKey: options.pivotForeignKey ?? `${snakeCase(owner.name)}_id`,
          relatedKey: options.pivotRelatedKey ?? `${snakeCase(related.name)}_id`,
          columns: options.pivotColumns ?? [],
          connection: options.pivotConnection,
        },
      };
    }
  }
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
