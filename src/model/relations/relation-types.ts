import type { ColumnMeta, ModelMeta } from '../metadata.js';

/** The four kinds of relation. */
export type RelationKind = 'hasMany' | 'hasOne' | 'belongsTo' | 'manyToMany';

/** A thunk returning the related model class, so models may refer to each other in any order. */
export type RelatedModel = () => Function;

/** Options of `@HasMany` and `@HasOne`: the related model's property holding this model's key. */
export interface HasManyOptions {
  /** Property of the related model. Default: this model's class name in camelCase + `Id` (`artistId`). */
  foreignKey?: string;
  /** Property of this model the foreign key refers to. Default: the primary key. */
  localKey?: string;
}

/** Options of `@HasOne`; see {@link HasManyOptions}. */
export type HasOneOptions = HasManyOptions;

/** Options of `@BelongsTo`: this model's property holding the related model's key. */
export interface BelongsToOptions {
  /** Property of this model. Default: the related class name in camelCase + `Id` (`artistId`). */
  foreignKey?: string;
  /** Property of the related model the foreign key refers to. Default: its primary key. */
  ownerKey?: string;
}

/** Options of `@ManyToMany`. Pivot names are column names of the pivot table (it has no model). */
export interface ManyToManyOptions {
  /** Default: both class names in snake_case, sorted, joined by `_` (`playlist_track`). */
  pivotTable?: string;
  /** Pivot column holding this model's key. Default: `playlist_id` for `Playlist`. */
  pivotForeignKey?: string;
  /** Pivot column holding the related model's key. Default: `track_id` for `Track`. */
  pivotRelatedKey?: string;
  /** Property of this model stored in the pivot. Default: the primary key. */
  localKey?: string;
  /** Property of the related model stored in the pivot. Default: its primary key. */
  relatedKey?: string;
  /** Extra pivot columns read with each related row (`track.$pivot.added_at`). */
  pivotColumns?: readonly string[];
  /** The connection holding the pivot table. Default: the parent record's connection. */
  pivotConnection?: string;
}

export type RelationOptions = HasManyOptions | BelongsToOptions | ManyToManyOptions;

/** A relation as declared on a model property. */
export interface RelationDef {
  readonly kind: RelationKind;
  readonly property: string;
  readonly related: RelatedModel;
  readonly options: Readonly<RelationOptions>;
}

/** Where a many-to-many relation keeps its pivot rows. */
export interface PivotSpec {
  readonly table: string;
  readonly foreignKey: string;
  readonly relatedKey: string;
  readonly columns: readonly string[];
  readonly connection: string | undefined;
}

/**
 * A relation checked against both models. Every kind matches children to parents by
 * `childKey = parentKey` (through the pivot for many-to-many):
 * has-many/has-one: parentKey = localKey, childKey = foreignKey;
 * belongs-to: parentKey = foreignKey, childKey = ownerKey;
 * many-to-many: parentKey = localKey, childKey = relatedKey.
 */
export interface ResolvedRelation {
  readonly kind: RelationKind;
  readonly name: string;
  readonly owner: ModelMeta;
  readonly related: ModelMeta;
  readonly parentKey: ColumnMeta;
  readonly childKey: ColumnMeta;
  /** A list of related records (has-many, many-to-many), else one or null. */
  readonly many: boolean;
  readonly pivot: PivotSpec | undefined;
}
