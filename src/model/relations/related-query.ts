import { CONNECTION, type RecordSlots } from '../hydration.js';
import type { ModelMeta } from '../metadata.js';
import { saveRecord } from '../lifecycle.js';
import { ModelQuery } from '../query-builder.js';
import type { QueryState } from '../query-state.js';
import { runTransaction } from '../../connection/session/local-transaction.js';
import type { Attributes } from '../types.js';
import type { WhereNode } from '../where-nodes.js';
import { slot } from '../statement-compiler.js';
import { setRelation } from './record-relations.js';
import { RelationError } from './relation-errors.js';
import { coerceKey, distinctKeys, integerKey, matchKey } from './relation-keys.js';
import { relationNames, relationOf } from './relation-resolve.js';
import { withWork } from './relation-work.js';
import { deletePivot, insertPivot, readPivot } from './pivot-rows.js';
import { pivotTarget, relatedExplicit, relatedTarget } from './relation-target.js';
import type { RelationKind, ResolvedRelation } from './relation-types.js';

type Instance = RecordSlots & Record<string, unknown>;

/** What `attach()` and `sync()` take: related keys, or related keys mapped to extra pivot values. */
export type PivotLinks = readonly unknown[] | Readonly<Record<string, Record<string, unknown>>>;

/**
 * `record.related(name)`: a query of the related model already constrained to this
 * record (await it, refine it like any query), and the writes that go through the
 * relation. It runs where a preload of the relation would (docs/relations.md).
 *
 * @example
 * ```ts
 * const recent = await artist.related('albums').where('year', '>', 2020).orderBy('year')
 * const album = await artist.related('albums').create({ title: 'Blue' }) // sets artistId
 * await playlist.related('tracks').attach({ 7: { added_at: new Date() } })
 * ```
 */
export class RelatedQuery<M extends object> extends ModelQuery<M> {
  readonly #relation: ResolvedRelation;
  readonly #parent: Instance;

  /** @internal Use `record.related(name)`. */
  constructor(relation: ResolvedRelation, parent: object, state: QueryState) {
    super(relation.related, undefined, state);
    this.#relation = relation;
    this.#parent = parent as Instance;
  }

  /** @internal */
  protected override withState(state: QueryState): this {
    return new RelatedQuery<M>(this.#relation, this.#parent, state) as this;
  }

  /** @internal The related query of `name` for `record`. */
  static of<M extends object>(meta: ModelMeta, record: object, name: string): RelatedQuery<M> {
    const relation = relationOf(meta, name);
    const parent = record as Instance;
    const explicit = relatedExplicit(relation, parent[CONNECTION]);
    const base = ModelQuery.stateOf(new ModelQuery<object>(relation.related, explicit)).state;
    const key = parent[relation.parentKey.property];
    if (!relation.pivot) {
      const query = new RelatedQuery<M>(relation, record, base);
      return key === null || key === undefined ? query.whereIn(relation.childKey.property as never, []) : query.where(relation.childKey.property as never, coerceKey(relation.childKey, key) as never);
    }
    if (key === null || key === undefined) return new RelatedQuery<M>(relation, record, { ...base, key: `${base.key}&none;`, wheres: [{ kind: 'raw', bool: 'and', sql: '1 = 0', count: 0 }] });
    const parentConnection = parent[CONNECTION] ?? relatedTarget(relation, undefined).connection.name;
    // A pivot on the related rows' connection joins them in one statement; elsewhere its keys are read there first, when the query runs.
    if (pivotTarget(relation, parentConnection).connection === relatedTarget(relation, parentConnection).connection) return new RelatedQuery<M>(relation, record, throughPivot(relation, base, key));
    return new RelatedQuery<M>(relation, record, withWork(base, { pivotParent: { relation, parentConnection, key } }));
  }

  /**
   * Creates a related record linked to this one: the foreign key is set (has-many,
   * has-one), or a pivot row is written after it (many-to-many).
   */
  async create(attributes: Partial<Attributes<M>> = {}): Promise<M> {
    const relation = this.#relation;
    this.#expect('create', ['hasMany', 'hasOne', 'manyToMany']);
    const record = new (relation.related.ctor as new () => Instance & { fill(a: object): void })();
    record.fill(attributes);
    if (!relation.pivot) record[relation.childKey.property] = coerceKey(relation.childKey, this.#parentKey());
    await saveRecord(relation.related, record, ModelQuery.stateOf(this).state.explicit);
    if (relation.pivot) await this.attach([record[relation.childKey.property]]);
    return record as unknown as M;
  }

  /**
   * Creates several related records linked to this one, one {@link create} after another
   * (inside the ambient transaction of their connection, if one is open); resolves with
   * them in the order given.
   *
   * @example
   * ```ts
   * const [a, b] = await artist.related('albums').createMany([{ title: 'A' }, { title: 'B' }])
   * ```
   */
  async createMany(rows: readonly Partial<Attributes<M>>[]): Promise<M[]> {
    this.#expect('createMany', ['hasMany', 'manyToMany']);
    if (!Array.isArray(rows)) throw this.#error('createMany() takes an array of attribute objects');
    const out: M[] = [];
    for (const attributes of rows) out.push(await this.create(attributes));
    return out;
  }

  /**
   * Links `record` (new, or loaded and perhaps linked elsewhere) to this one and saves it:
   * has-many and has-one set its foreign key; many-to-many saves it, then adds the pivot
   * row unless the two are linked already. Lucid's `save`.
   *
   * @example
   * ```ts
   * const album = new Album()
   * album.title = 'Blue'
   * await artist.related('albums').save(album) // album.artistId === artist.id
   * ```
   */
  async save(record: M): Promise<M> {
    const relation = this.#expect('save', ['hasMany', 'hasOne', 'manyToMany']);
    if (!(record instanceof (relation.related.ctor as new () => object))) throw this.#error(`save() takes a ${relation.related.name}`);
    const instance = record as unknown as Instance;
    // Checked before anything is written: an unsaved parent has no key to link to.
    const parentKey = this.#parentKey();
    if (!relation.pivot) instance[relation.childKey.property] = coerceKey(relation.childKey, parentKey);
    await saveRecord(relation.related, instance, ModelQuery.stateOf(this).state.explicit);
    if (relation.pivot) {
      const key = instance[relation.childKey.property];
      const linked = await readPivot(relation, this.#parentConnection(), [parentKey], [key]);
      if (linked.length === 0) await this.attach([key]);
    }
    return record;
  }

  /** {@link save} for several records, one after another; resolves with them in the order given. */
  async saveMany(records: readonly M[]): Promise<M[]> {
    this.#expect('saveMany', ['hasMany', 'manyToMany']);
    if (!Array.isArray(records)) throw this.#error('saveMany() takes an array of records');
    for (const record of records) await this.save(record);
    return [...records];
  }

  /** Belongs-to: points this record at `owner` (sets the foreign key) and saves it. */
  async associate(owner: object): Promise<void> {
    const relation = this.#expect('associate', ['belongsTo']);
    const key = (owner as Instance)?.[relation.childKey.property];
    if (key === undefined || key === null) throw this.#error(`associate() needs a saved ${relation.related.name} with its ${relation.childKey.property} set`);
    this.#parent[relation.parentKey.property] = coerceKey(relation.parentKey, key);
    await saveRecord(relation.owner, this.#parent);
    setRelation(this.#parent, relation.name, owner);
  }

  /** Belongs-to: clears the foreign key and saves the record. */
  async dissociate(): Promise<void> {
    const relation = this.#expect('dissociate', ['belongsTo']);
    this.#parent[relation.parentKey.property] = null;
    await saveRecord(relation.owner, this.#parent);
    setRelation(this.#parent, relation.name, null);
  }

  /**
   * Many-to-many: links related keys to this record in the pivot table (on its own
   * connection, inside the transaction open there). Extra pivot values per key with
   * the object form.
   *
   * @example
   * ```ts
   * await playlist.related('tracks').attach([1, 2])
   * await playlist.related('tracks').attach({ 3: { added_at: new Date() } })
   * ```
   */
  async attach(links: PivotLinks): Promise<void> {
    const relation = this.#expect('attach', ['manyToMany']);
    const parsed = this.#links(links, 'attach');
    await insertPivot(relation, this.#parentConnection(), this.#parentKey(), parsed);
  }

  /** Many-to-many: removes the pivot rows to these keys (all of this record's without keys); resolves with their number. */
  async detach(keys?: readonly unknown[]): Promise<number> {
    const relation = this.#expect('detach', ['manyToMany']);
    if (keys !== undefined && !Array.isArray(keys)) throw this.#error('detach() takes an array of related keys, or nothing to detach all');
    return deletePivot(relation, this.#parentConnection(), this.#parentKey(), keys?.map((k) => coerceKey(relation.childKey, k)));
  }

  /**
   * Many-to-many: makes the pivot hold exactly these links for this record, in one
   * transaction on the pivot's connection: missing ones attached, others detached.
   */
  async sync(links: PivotLinks): Promise<{ attached: unknown[]; detached: unknown[] }> {
    const relation = this.#expect('sync', ['manyToMany']);
    const wanted = this.#links(links, 'sync');
    const connection = this.#parentConnection();
    const parentKey = this.#parentKey();
    const integer = integerKey(relation.parentKey) && integerKey(relation.childKey);
    return runTransaction(pivotTarget(relation, connection).connection, async () => {
      const existing = distinctKeys((await readPivot(relation, connection, [parentKey])).map((p) => ({ k: p.relatedKey })), 'k', integer, relation.childKey);
      const have = new Set(existing.map((k) => matchKey(k, integer, 'key')));
      const want = new Set([...wanted.keys()].map((k) => matchKey(k, integer, 'key')));
      const detached = existing.filter((k) => !want.has(matchKey(k, integer, 'key')));
      const attach = new Map([...wanted].filter(([k]) => !have.has(matchKey(k, integer, 'key'))));
      await deletePivot(relation, connection, parentKey, detached);
      await insertPivot(relation, connection, parentKey, attach);
      return { attached: [...attach.keys()], detached };
    });
  }

  #expect(method: string, kinds: readonly RelationKind[]): ResolvedRelation {
    if (!kinds.includes(this.#relation.kind)) throw this.#error(`${method}() works on ${kinds.join(' / ')} relations; this one is ${this.#relation.kind}`);
    return this.#relation;
  }

  #error(problem: string): RelationError {
    return new RelationError(this.#relation.owner.name, this.#relation.name, relationNames(this.#relation.owner), problem);
  }

  #parentKey(): unknown {
    const key = this.#parent[this.#relation.parentKey.property];
    if (key === undefined || key === null) throw this.#error(`the ${this.#relation.owner.name} has no ${this.#relation.parentKey.property} yet; save it first`);
    return key;
  }

  #parentConnection(): string {
    return this.#parent[CONNECTION] ?? relatedTarget(this.#relation, undefined).connection.name;
  }

  #links(links: PivotLinks, method: string): Map<unknown, Record<string, unknown>> {
    const relation = this.#relation;
    const out = new Map<unknown, Record<string, unknown>>();
    if (Array.isArray(links)) {
      for (const key of links) {
        if (key === null || key === undefined || typeof key === 'object') throw this.#error(`${method}() takes related keys (or { key: pivotValues }), got ${key === null ? 'null' : typeof key}`);
        out.set(coerceKey(relation.childKey, key), {});
      }
      return out;
    }
    if (links === null || typeof links !== 'object') throw this.#error(`${method}() takes an array of related keys or an object { key: pivotValues }`);
    for (const [key, values] of Object.entries(links as Record<string, Record<string, unknown>>)) {
      if (values === null || typeof values !== 'object') throw this.#error(`${method}(): the pivot values of key ${key} must be an object`);
      for (const column of Object.keys(values)) {
        if (!relation.pivot!.columns.includes(column)) throw this.#error(`${method}(): "${column}" is not among the relation's pivotColumns (${relation.pivot!.columns.join(', ') || 'none'})`);
      }
      out.set(coerceKey(relation.childKey, key), values);
    }
    return out;
  }
}

// `related_key IN (SELECT pivot.related_key FROM pivot WHERE pivot.foreign_key = ?)`, as an EXISTS correlated on the related table.
function throughPivot(relation: ResolvedRelation, base: QueryState, key: unknown): QueryState {
  const pivot = relation.pivot!;
  const node: WhereNode = {
    kind: 'exists',
    bool: 'and',
    not: false,
    count: 1,
    build: (q, index) => {
      q.select('*')
        .from({ pr_piv: pivot.table })
        .whereRaw('?? = ??', [`pr_piv.${pivot.relatedKey}`, `${relation.related.tableName}.${relation.childKey.column}`])
        .where(`pr_piv.${pivot.foreignKey}`, slot(index));
    },
  };
  return { ...base, key: `${base.key}&pivot(${relation.owner.name}.${relation.name});`, wheres: [...base.wheres, node], values: [...base.values, key], types: [...base.types, relation.parentKey.type] };
}
