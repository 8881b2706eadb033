import type { Knex } from 'knex';
import type { Connection } from '../../connection/connection.js';
import type { ExecResult } from '../../connection/dialects/dialect.js';
import type { Transaction } from '../../connection/session/local-transaction.js';
import { encodeRawBinding } from '../../connection/column-codecs.js';
import { unescapeQuestionMarks } from '../statement-compiler.js';
import { CrossConnectionLimitError } from './relation-errors.js';
import { chunks, distinctKeys, integerKey } from './relation-keys.js';
import { pivotTarget } from './relation-target.js';
import type { ResolvedRelation } from './relation-types.js';

/** One pivot row: the two keys it links and every column read (`$pivot`). */
export interface PivotRow {
  readonly foreignKey: unknown;
  readonly relatedKey: unknown;
  readonly values: Record<string, unknown>;
}

/** Runs a knex-built statement on the pivot's connection, inside its open transaction if any. */
function run(target: { connection: Connection; transaction: Transaction | undefined }, build: (knex: Knex) => Knex.QueryBuilder): Promise<ExecResult> {
  const native = build(target.connection.knex).toSQL().toNative();
  const codec = target.connection.dialect.codec;
  const bindings = native.bindings.map((value) => encodeRawBinding(value, codec));
  const sql = unescapeQuestionMarks(native.sql);
  return target.transaction ? target.transaction.execute(sql, bindings, { prepare: 'never' }) : target.connection.execute(sql, bindings, { prepare: 'never' });
}

/** The pivot rows of these parent keys: one statement per chunk below the dialect's bind limit. */
export async function readPivot(relation: ResolvedRelation, parentConnection: string, parentKeys: readonly unknown[], relatedKeys?: readonly unknown[]): Promise<PivotRow[]> {
  const pivot = relation.pivot!;
  if (parentKeys.length === 0) return [];
  const target = pivotTarget(relation, parentConnection);
  const columns = [...new Set([pivot.foreignKey, pivot.relatedKey, ...pivot.columns])];
  const out: PivotRow[] = [];
  for (const chunk of chunks(parentKeys, target.connection.dialect.maxBindings - (relatedKeys?.length ?? 0) - 1)) {
    const { rows } = await run(target, (knex) => {
      const q = knex(pivot.table).select(columns).whereIn(pivot.foreignKey, chunk as never[]);
      return relatedKeys ? q.whereIn(pivot.relatedKey, relatedKeys as never[]) : q;
    });
    for (const row of rows) out.push({ foreignKey: row[pivot.foreignKey], relatedKey: row[pivot.relatedKey], values: row });
  }
  return out;
}

/** The distinct values of one pivot key column among the rows whose other key is in `keys` (cross-connection filters). */
export async function pivotKeys(relation: ResolvedRelation, parentConnection: string, by: 'relatedKey', keys: readonly unknown[]): Promise<unknown[]> {
  const pivot = relation.pivot!;
  if (keys.length === 0) return [];
  const target = pivotTarget(relation, parentConnection);
  const out: unknown[] = [];
  for (const chunk of chunks(keys, target.connection.dialect.maxBindings - 1)) {
    const { rows } = await run(target, (knex) => knex(pivot.table).distinct(pivot.foreignKey).whereIn(pivot[by], chunk as never[]));
    for (const row of rows) out.push(row[pivot.foreignKey]);
  }
  return out;
}

/**
 * The distinct related keys the pivot links to one parent key, read on the pivot's
 * connection (`SELECT DISTINCT related_key … LIMIT limit + 1`); above `limit` a
 * CrossConnectionLimitError with their number, as `whereHas` across connections.
 */
export async function linkedKeys(relation: ResolvedRelation, parentConnection: string, parentKey: unknown, limit: number): Promise<unknown[]> {
  const pivot = relation.pivot!;
  const target = pivotTarget(relation, parentConnection);
  const linked = (knex: Knex) => knex(pivot.table).where(pivot.foreignKey, parentKey as never).whereNotNull(pivot.relatedKey);
  const { rows } = await run(target, (knex) => linked(knex).distinct(pivot.relatedKey).limit(limit + 1));
  if (rows.length > limit) {
    const { rows: counted } = await run(target, (knex) => linked(knex).countDistinct({ n: pivot.relatedKey }));
    throw new CrossConnectionLimitError(relation.owner.name, relation.name, Number(counted[0]!.n), limit);
  }
  const integer = integerKey(relation.parentKey) && integerKey(relation.childKey);
  return distinctKeys(rows.map((row) => ({ k: row[pivot.relatedKey] })), 'k', integer, relation.childKey);
}

/** Inserts pivot rows linking `parentKey` to each related key (with its extra pivot values). */
export async function insertPivot(relation: ResolvedRelation, parentConnection: string, parentKey: unknown, links: ReadonlyMap<unknown, Record<string, unknown>>): Promise<void> {
  const pivot = relation.pivot!;
  if (links.size === 0) return;
  const target = pivotTarget(relation, parentConnection);
  const rows = [...links].map(([relatedKey, extra]) => ({ ...extra, [pivot.foreignKey]: parentKey, [pivot.relatedKey]: relatedKey }));
  const width = Object.keys(rows[0]!).length;
  for (const chunk of chunks(rows, Math.max(1, Math.floor(target.connection.dialect.maxBindings / width) - 1))) {
    await run(target, (knex) => knex(pivot.table).insert(chunk));
  }
}

/** Deletes the pivot rows of `parentKey` (only those to `relatedKeys` when given); resolves with their number. */
export async function deletePivot(relation: ResolvedRelation, parentConnection: string, parentKey: unknown, relatedKeys: readonly unknown[] | undefined): Promise<number> {
  const pivot = relation.pivot!;
  if (relatedKeys?.length === 0) return 0;
  const target = pivotTarget(relation, parentConnection);
  let deleted = 0;
  for (const chunk of relatedKeys ? chunks(relatedKeys, target.connection.dialect.maxBindings - 2) : [undefined]) {
    const { affected } = await run(target, (knex) => {
      const q = knex(pivot.table).where(pivot.foreignKey, parentKey as never).delete();
      return chunk ? q.whereIn(pivot.relatedKey, chunk as never[]) : q;
    });
    deleted += affected;
  }
  return deleted;
}
