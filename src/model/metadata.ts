import 'reflect-metadata';
import { ModelDefinitionError, UnknownColumnError } from '../errors.js';
import type { DriverName } from '../connection/config.js';
import { perDriver } from '../connection/dialects/index.js';
import type { ConnectionManager } from '../connection/manager.js';
import { COLUMN_TYPES, inferType } from './column-types.js';
import type { ColumnType, ResolvedType } from '../connection/column-codecs.js';
import { snakeCase } from './naming.js';
import type { CompiledStatement } from './statement-compiler.js';
import type { HookName } from './hooks.js';
import type { LifecycleParticipant } from './lifecycle.js';
import { EventEmitter } from 'eventemitter3';
import { LruMap } from '../util/lru-map.js';
import type { ModelEvents } from './events.js';
import type { RelationDef } from './relations/relation-types.js';

/** Query shapes whose compiled SQL each model keeps per dialect (and hydrators per column list). */
export const COMPILED_SHAPES_PER_MODEL = 500;

/** Options shared by `@Column`, `@PrimaryKey`, `@CreatedAt`, `@UpdatedAt` and `@DeletedAt`. */
export interface ColumnOptions {
  /** Database column name. Default: the snake_case of the property name. */
  name?: string;
  /** Declared type; wins over compiler-emitted `design:type` metadata. */
  type?: ColumnType;
  /**
   * Whether the column may hold NULL. Declared for `polyrecord schema:check` (which compares it
   * with the table) and `make:migration --from-models` (which creates the column so); writes are
   * not checked against it (the database refuses a NULL in a NOT NULL column). Default: not
   * declared (not compared; created nullable), except `@PrimaryKey` (never null) and
   * `@DeletedAt` (nullable).
   */
  nullable?: boolean;
}

/** One mapped column. */
export interface ColumnMeta {
  readonly property: string;
  readonly column: string;
  readonly type: ResolvedType;
  readonly primary: boolean;
  readonly role: 'createdAt' | 'updatedAt' | 'deletedAt' | undefined;
  /** Declared nullability (`ColumnOptions.nullable`), undefined when not declared. */
  readonly nullable?: boolean;
}

/** Which rows a query of a soft-deleting model sees: live ones (the default), all, or only soft-deleted ones. */
export type TrashedScope = 'without' | 'with' | 'only';

/** Whether a column is stamped with the current time when a row is inserted without it (`@CreatedAt`, `@UpdatedAt`; not `@DeletedAt`). */
export function stampedOnInsert(column: ColumnMeta): boolean {
  return column.role === 'createdAt' || column.role === 'updatedAt';
}

/** Options of `@Model`. */
export interface ModelOptions {
  /** The connection name (or alias) the model lives on. */
  connection: string;
  /** Write an outbox row for every create/update/destroy, in the same transaction (see `@Outbox`). */
  outbox?: boolean;
  /** Table name; may be schema-qualified (`analytics.users`). */
  table: string;
  /** The manager holding `connection`. Default: `ConnectionManager.default`. */
  manager?: ConnectionManager;
}

/**
 * Everything polyrecord knows about one model class. Each class owns its metadata
 * (a subclass starts from a copy of its parent's), keyed by the class object itself,
 * so two classes with the same name never collide.
 */
export class ModelMeta {
  readonly ctor: Function;
  table: string | undefined;
  connection: string | undefined;
  manager: ConnectionManager | undefined;
  readonly columns: ColumnMeta[];
  readonly byProperty = new Map<string, ColumnMeta>();
  readonly byColumn = new Map<string, ColumnMeta>();
  /**
   * Compiled SQL per dialect and query shape, least recently used forgotten first: an
   * application whose filters combine into ever new shapes keeps flat memory.
   */
  readonly statements: Record<DriverName, LruMap<string, CompiledStatement>> = perDriver(() => new LruMap(COMPILED_SHAPES_PER_MODEL));
  /** Row → instance functions per selected column list. */
  readonly hydrators = new LruMap<string, unknown>(COMPILED_SHAPES_PER_MODEL);
  /**
   * Per dialect, what `find(key)` needs, made once (see `findByKey`): [any row, live rows only].
   * Kept apart from `statements` so the most frequent lookup never waits on the LRU.
   */
  readonly keyLookups: Record<DriverName, [unknown, unknown]> = perDriver(() => [undefined, undefined]);
  /** Hook method names per lifecycle moment, parent class first. */
  readonly hooks = new Map<HookName, string[]>();
  /** Extensions that act on every write (outbox rows, real-time sync), inherited by subclasses. */
  readonly participants: LifecycleParticipant[];
  /** This class's own emitter (`Model.events`). */
  readonly events = new EventEmitter<ModelEvents>();
  /** Declared relations by property name, parent class first (`@HasMany`, `@BelongsTo`, ...). */
  readonly relations: Map<string, RelationDef>;

  constructor(ctor: Function, parent: ModelMeta | undefined) {
    this.ctor = ctor;
    this.table = parent?.table;
    this.connection = parent?.connection;
    this.manager = parent?.manager;
    this.columns = [];
    for (const column of parent?.columns ?? []) this.#add(column);
    for (const [hook, methods] of parent?.hooks ?? []) this.hooks.set(hook, [...methods]);
    this.participants = [...(parent?.participants ?? [])];
    this.relations = new Map(parent?.relations);
  }

  addRelation(relation: RelationDef): void {
    if (this.byProperty.has(relation.property)) throw new ModelDefinitionError(`${this.name}.${relation.property} is a column; a relation needs a property of its own`);
    this.relations.set(relation.property, relation);
  }

  addHook(hook: HookName, method: string): void {
    const methods = this.hooks.get(hook) ?? [];
    // An overriding method keeps its parent's place: it runs once.
    if (!methods.includes(method)) methods.push(method);
    this.hooks.set(hook, methods);
  }

  addParticipant(participant: LifecycleParticipant): void {
    this.participants.push(participant);
  }

  get name(): string {
    return this.ctor.name || 'AnonymousModel';
  }

  #derived: { primaryKey: ColumnMeta | undefined; updatedAt: ColumnMeta | undefined; deletedAt: ColumnMeta | undefined; hasBigint: boolean; hasDatetime: boolean } | undefined;

  // Derived once per column set: these are read on every query.
  #derive() {
    return (this.#derived ??= {
      primaryKey: this.columns.find((c) => c.primary),
      updatedAt: this.columns.find((c) => c.role === 'updatedAt'),
      deletedAt: this.columns.find((c) => c.role === 'deletedAt'),
      hasBigint: this.columns.some((c) => c.type === 'bigint'),
      hasDatetime: this.columns.some((c) => c.type === 'datetime'),
    });
  }

  get primaryKey(): ColumnMeta {
    const primary = this.#derive().primaryKey;
    if (!primary) throw new ModelDefinitionError(`${this.name} has no @PrimaryKey() column`);
    return primary;
  }

  get updatedAt(): ColumnMeta | undefined {
    return this.#derive().updatedAt;
  }

  /** The `@DeletedAt` column of a soft-deleting model. */
  get deletedAt(): ColumnMeta | undefined {
    return this.#derive().deletedAt;
  }

  /** The `@DeletedAt` column, or a clear error naming the soft-delete method called on a model without one. */
  softDeleteColumn(method: string): ColumnMeta {
    const column = this.deletedAt;
    if (!column) throw new ModelDefinitionError(`${method} needs soft deletes, but ${this.name} has no @DeletedAt() column`);
    return column;
  }

  get hasBigint(): boolean {
    return this.#derive().hasBigint;
  }

  get hasDatetime(): boolean {
    return this.#derive().hasDatetime;
  }

  #initialized: readonly ColumnMeta[] | undefined;

  /**
   * Columns a new instance already sets (field initializers such as `active = true`), found
   * by constructing one instance the first time it is asked: bulk rows that leave them out
   * get the same defaults `create()` gives.
   */
  get initializedColumns(): readonly ColumnMeta[] {
    if (this.#initialized === undefined) {
      const probe = new (this.ctor as new () => Record<string, unknown>)();
      this.#initialized = this.columns.filter((c) => probe[c.property] !== undefined);
    }
    return this.#initialized;
  }

  /** The column for a property name, or an {@link UnknownColumnError} before anything reaches SQL. */
  column(property: string): ColumnMeta {
    const column = typeof property === 'string' ? this.byProperty.get(property) : undefined;
    if (!column) throw new UnknownColumnError(this.name, String(property), [...this.byProperty.keys()]);
    return column;
  }

  /** The table, or a clear error for a class that was never decorated with `@Model`. */
  get tableName(): string {
    if (!this.table) throw new ModelDefinitionError(`${this.name} is not decorated with @Model({ connection, table })`);
    return this.table;
  }

  addColumn(column: ColumnMeta): void {
    if (this.relations.has(column.property)) throw new ModelDefinitionError(`${this.name}.${column.property} is a relation; a column needs a property of its own`);
    if (column.primary && this.columns.some((c) => c.primary && c.property !== column.property)) {
      throw new ModelDefinitionError(`${this.name} declares more than one @PrimaryKey(); composite keys are not supported`);
    }
    if (column.role === 'deletedAt') {
      if (column.type !== 'datetime') throw new ModelDefinitionError(`${this.name}.${column.property}: @DeletedAt() must be a datetime column, not ${column.type}`);
      const other = this.columns.find((c) => c.role === 'deletedAt' && c.property !== column.property);
      if (other) throw new ModelDefinitionError(`${this.name} declares more than one @DeletedAt() (${other.property} and ${column.property})`);
    }
    const clash = this.columns.find((c) => c.column === column.column && c.property !== column.property);
    if (clash) throw new ModelDefinitionError(`${this.name}.${column.property} and ${this.name}.${clash.property} both map to column "${column.column}"`);
    const index = this.columns.findIndex((c) => c.property === column.property);
    if (index >= 0) {
      this.byColumn.delete(this.columns[index]!.column);
      this.columns.splice(index, 1);
    }
    this.#add(column);
  }

  #add(column: ColumnMeta): void {
    this.#derived = undefined;
    this.#initialized = undefined;
    this.hydrators.clear();
    for (const lookups of Object.values(this.keyLookups)) lookups.fill(undefined);
    this.columns.push(column);
    this.byProperty.set(column.property, column);
    this.byColumn.set(column.column, column);
  }
}

const metas = new WeakMap<Function, ModelMeta>();
const byName = new Map<string, ModelMeta[]>();

/** Records a decorated model under its class name (outbox events name their model that way). */
export function registerModelName(meta: ModelMeta): void {
  const list = byName.get(meta.name) ?? [];
  if (!list.includes(meta)) list.push(meta);
  byName.set(meta.name, list);
}

/** Models decorated with `@Model` under this class name (usually one). */
export function modelsNamed(name: string): readonly ModelMeta[] {
  return byName.get(name) ?? [];
}

/** The metadata a class owns, created on first use from its parent's. */
export function ownMeta(ctor: Function): ModelMeta {
  let meta = metas.get(ctor);
  if (!meta) {
    const parent = Object.getPrototypeOf(ctor) as Function | null;
    meta = new ModelMeta(ctor, parent && parent !== Function.prototype ? metaOf(parent) : undefined);
    metas.set(ctor, meta);
    // A class with standard-decorated fields but no @Model (a base class) holds its columns here.
    applyPending(meta, ownDecoratorMetadata(ctor));
  }
  return meta;
}

/** The metadata of a class, or undefined for classes polyrecord never saw. */
export function metaOf(ctor: Function): ModelMeta | undefined {
  return metas.get(ctor) ?? (definedUpTheChain(ctor) ? ownMeta(ctor) : undefined);
}

function definedUpTheChain(ctor: Function): boolean {
  if (ownDecoratorMetadata(ctor)?.[PENDING]) return true;
  for (let c: Function | null = Object.getPrototypeOf(ctor); c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    if (metas.has(c) || ownDecoratorMetadata(c)?.[PENDING]) return true;
  }
  return false;
}

// Standard (TC39) decorators give a field decorator no access to its class, only to the
// class's decorator metadata object (`context.metadata`), which becomes `Class[Symbol.metadata]`.
// Node 20 has no Symbol.metadata, and without it compilers pass no metadata object at all.
const SymbolWithMetadata = Symbol as { metadata?: symbol };
SymbolWithMetadata.metadata ??= Symbol.for('Symbol.metadata');
const METADATA = SymbolWithMetadata.metadata;
const PENDING = Symbol('polyrecord.pendingDefinitions');
type PendingSteps = { [PENDING]?: ((meta: ModelMeta) => void)[] };

function ownDecoratorMetadata(ctor: Function): PendingSteps | undefined {
  return Object.hasOwn(ctor, METADATA) ? (ctor as unknown as Record<symbol, PendingSteps>)[METADATA] : undefined;
}

/**
 * Queues a step (e.g. adding a column) on a class's decorator metadata; it runs when
 * polyrecord builds that class's {@link ModelMeta}: at `@Model`, or when a subclass needs it.
 */
export function deferToClass(metadata: object | undefined, step: (meta: ModelMeta) => void, decorator: string): void {
  if (!metadata) throw new ModelDefinitionError(`${decorator}: the compiler passed no decorator metadata (context.metadata); define Symbol.metadata before the models, or use experimentalDecorators`);
  const pending = metadata as PendingSteps;
  (Object.hasOwn(pending, PENDING) ? pending[PENDING]! : (pending[PENDING] = [])).push(step);
}

/** Runs, once, the steps queued on a decorator metadata object (its own, not its parent's). */
export function applyPending(meta: ModelMeta, metadata: object | undefined): void {
  const pending = metadata as PendingSteps | undefined;
  if (!pending || !Object.hasOwn(pending, PENDING)) return;
  const steps = pending[PENDING]!;
  delete pending[PENDING];
  for (const step of steps) step(meta);
}

/**
 * Builds a column from decorator options; `role`/`primary` come from which decorator was used.
 * `target` is the prototype under legacy decorators (its `design:type` metadata may give the
 * type) and undefined under standard decorators, which carry no type information.
 */
export function columnFromOptions(target: object | undefined, property: string | symbol, options: ColumnOptions | undefined, extra: { primary?: boolean; role?: ColumnMeta['role'] }): ColumnMeta {
  if (typeof property !== 'string') throw new ModelDefinitionError('column properties must have string names');
  if (options !== undefined && (options === null || typeof options !== 'object')) throw new ModelDefinitionError(`${property}: column options must be an object`);
  const type = options?.type;
  if (type !== undefined && !COLUMN_TYPES.includes(type)) {
    throw new ModelDefinitionError(`${property}: unknown column type "${String(type)}"; use one of ${COLUMN_TYPES.join(', ')}`);
  }
  const name = options?.name ?? snakeCase(property);
  if (typeof name !== 'string' || name === '') throw new ModelDefinitionError(`${property}: column name must be a non-empty string`);
  const defaultType: ResolvedType = extra.role ? 'datetime' : 'any';
  if (target === undefined && type === undefined && !extra.role) {
    throw new ModelDefinitionError(`${property}: standard decorators carry no type information; declare the column type, e.g. { type: 'string' } (one of ${COLUMN_TYPES.join(', ')})`);
  }
  const inferred = target === undefined ? 'any' : inferType(Reflect.getMetadata('design:type', target, property));
  const nullable = options?.nullable ?? (extra.primary ? false : extra.role === 'deletedAt' ? true : undefined);
  if (nullable !== undefined && typeof nullable !== 'boolean') throw new ModelDefinitionError(`${property}: nullable must be true or false`);
  const column: ColumnMeta = { property, column: name, type: type ?? (inferred === 'any' ? defaultType : inferred), primary: extra.primary ?? false, role: extra.role };
  return nullable === undefined ? column : { ...column, nullable };
}
