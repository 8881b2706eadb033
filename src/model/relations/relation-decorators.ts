import { ModelDefinitionError } from '../../errors.js';
import { fieldDecorator, type FieldDecorator } from '../decorator-flavours.js';
import type { BelongsToOptions, HasManyOptions, HasOneOptions, ManyToManyOptions, RelatedModel, RelationKind, RelationOptions } from './relation-types.js';

const OPTION_NAMES: Record<RelationKind, readonly string[]> = {
  hasMany: ['foreignKey', 'localKey'],
  hasOne: ['foreignKey', 'localKey'],
  belongsTo: ['foreignKey', 'ownerKey'],
  manyToMany: ['pivotTable', 'pivotForeignKey', 'pivotRelatedKey', 'localKey', 'relatedKey', 'pivotColumns', 'pivotConnection'],
};

/**
 * The related model's records whose `foreignKey` holds this record's `localKey`. The
 * property holds an array once loaded (`preload`, `load`), `undefined` before.
 *
 * @example
 * ```ts
 * @Model({ connection: 'primary', table: 'artists' })
 * class Artist extends ActiveRecord {
 *   @PrimaryKey({ type: 'integer' }) id!: number
 *   @HasMany(() => Album, { foreignKey: 'artistId' }) albums!: Album[]
 * }
 * ```
 */
export function HasMany(related: RelatedModel, options?: HasManyOptions): FieldDecorator {
  return relationDecorator('@HasMany', 'hasMany', related, options);
}

/**
 * Like {@link HasMany}, for at most one related record: the property holds it, or `null`.
 *
 * @example
 * ```ts
 * @HasOne(() => Profile, { foreignKey: 'userId' }) profile!: Profile | null
 * ```
 */
export function HasOne(related: RelatedModel, options?: HasOneOptions): FieldDecorator {
  return relationDecorator('@HasOne', 'hasOne', related, options);
}

/**
 * The related record whose `ownerKey` equals this record's `foreignKey`, or `null`.
 *
 * @example
 * ```ts
 * @Column({ type: 'integer' }) artistId!: number | null
 * @BelongsTo(() => Artist) artist!: Artist | null
 * ```
 */
export function BelongsTo(related: RelatedModel, options?: BelongsToOptions): FieldDecorator {
  return relationDecorator('@BelongsTo', 'belongsTo', related, options);
}

/**
 * Related records linked through a pivot table, which lives on the parent's connection
 * unless `pivotConnection` names another. Extra `pivotColumns` are read into `$pivot`.
 *
 * @example
 * ```ts
 * @ManyToMany(() => Track, { pivotTable: 'playlist_track', pivotForeignKey: 'playlist_id', pivotRelatedKey: 'track_id', pivotColumns: ['added_at'] })
 * tracks!: Track[]
 * // (await playlist.load('tracks')).tracks[0].$pivot.added_at
 * ```
 */
export function ManyToMany(related: RelatedModel, options?: ManyToManyOptions): FieldDecorator {
  return relationDecorator('@ManyToMany', 'manyToMany', related, options);
}

function relationDecorator(decorator: string, kind: RelationKind, related: RelatedModel, options: RelationOptions | undefined): FieldDecorator {
  if (typeof related !== 'function' || related.prototype !== undefined && /^class\b/.test(Function.prototype.toString.call(related))) {
    throw new ModelDefinitionError(`${decorator} needs a function returning the related model, e.g. ${decorator}(() => Album), so models may refer to each other in any order`);
  }
  if (options !== undefined && (options === null || typeof options !== 'object')) throw new ModelDefinitionError(`${decorator}: options must be an object`);
  for (const [name, value] of Object.entries(options ?? {})) {
    if (!OPTION_NAMES[kind].includes(name)) throw new ModelDefinitionError(`${decorator}: unknown option "${name}"; it takes ${OPTION_NAMES[kind].join(', ')}`);
    const list = name === 'pivotColumns';
    if (list ? !Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '') : typeof value !== 'string' || value === '') {
      throw new ModelDefinitionError(`${decorator}: option "${name}" must be ${list ? 'a list of column names' : 'a non-empty string'}`);
    }
  }
  const frozen = Object.freeze({ ...options });
  return fieldDecorator(decorator, (_target, property) => (meta) => meta.addRelation({ kind, property, related, options: frozen }));
}
