import { PolyrecordError, RecordNotFoundError } from '../errors.js';
import { runTransaction } from '../connection/session/local-transaction.js';
import { decoders } from '../connection/column-codecs.js';
import { columnValue } from './column-values.js';
import { coarseColumns, fitDate, type CoarseColumns } from './datetime-digits.js';
import { CONNECTION, DESTROYED, ORIGINAL, changedColumns, hydratorFor, type Hydrator, originalOf, originalValue, snapshotValue, type RecordSlots } from './hydration.js';
import type { ColumnMeta, ModelMeta, TrashedScope } from './metadata.js';
import type { Changes } from './events.js';
import { compiled, slot, type CompiledStatement } from './statement-compiler.js';
import type { Connection } from '../connection/connection.js';
import type { ExecOptions, ExecResult } from '../connection/dialects/dialect.js';
import { andThen, type MaybePromise } from '../util/maybe-promise.js';
import { encodeFor, execOptions, lookupOptions, singleRowOptions, resolveTarget, runStatement, runStatementNow, type Target } from './target.js';

type Instance = RecordSlots & Record<string, unknown>;

/** The target for an instance: the connection it came from, else the model's resolution. */
export function instanceTarget(meta: ModelMeta, instance: Instance, explicit?: string): Target {
  return resolveTarget(meta, instance[CONNECTION] ?? explicit);
}

/**
 * Inserts a new record; fills a generated primary key and the timestamps (`@DeletedAt`
 * starts null), and reads back the columns the caller left unset (the database's
 * defaults), so the instance holds what `reload()` would give. Resolves with the written values.
 */
export function insertRecord(meta: ModelMeta, instance: Instance, target: Target): MaybePromise<Changes> {
  const now = new Date();
  for (const column of meta.columns) {
    if (column.role && instance[column.property] === undefined) instance[column.property] = column.role === 'deletedAt' ? null : new Date(now.getTime());
  }
  const columns: ColumnMeta[] = [];
  const unset: ColumnMeta[] = [];
  for (const c of meta.columns) (instance[c.property] === undefined ? unset : columns).push(c);
  const fitting = fitDates(meta, instance, columns, target);
  return fitting ? fitting.then(() => insertFitted(meta, instance, target, columns, unset)) : insertFitted(meta, instance, target, columns, unset);
}

function insertFitted(meta: ModelMeta, instance: Instance, target: Target, columns: readonly ColumnMeta[], unset: readonly ColumnMeta[]): MaybePromise<Changes> {
  const pk = meta.primaryKey;
  const generated = instance[pk.property] === undefined;
  const returning = target.connection.dialect.insertReturning && unset.length > 0;
  const statement = compiled(meta, target.connection, `insert:${columnList(columns)}:${returning ? 'r' : ''}`, (knex) => {
    const q = knex(meta.tableName).insert(Object.fromEntries(columns.map((c, i) => [c.column, slot(i)])));
    return returning ? q.returning(unset.map((c) => c.column)) : q;
  });
  const values = columns.map((c) => encodeFor(target, c, instance[c.property]));
  // One row inserted, one row returned: SQLite finishes a RETURNING insert in one step then (about half the time of two).
  return andThen(runStatementNow(target, statement, values, returning ? singleRowOptions(meta) : execOptions(meta)), (result) => {
    let readBack = unset;
    if (generated && !returning && result.insertId !== undefined && result.insertId !== null) {
      instance[pk.property] = decoders[pk.type === 'any' ? 'integer' : pk.type](result.insertId);
      // The generated key came with the insert: read back only the other columns, if any.
      readBack = unset.length === 1 ? NOTHING : unset.filter((c) => c !== pk);
    }
    remember(instance, columns, target);
    if (instance[pk.property] !== undefined) originalOf(instance)![pk.column] = instance[pk.property];
    if (readBack.length === 0) return insertedChanges(meta, instance);
    const fill = (row: Record<string, unknown> | undefined) => {
      const original = originalOf(instance)!;
      for (const column of readBack) {
        const value = row?.[column.column] ?? null;
        instance[column.property] = value === null ? null : decoders[column.type === 'any' && column.primary ? 'integer' : column.type](value);
        original[column.column] = snapshotValue(column, instance[column.property]);
      }
      return insertedChanges(meta, instance);
    };
    return returning ? fill(result.rows[0]) : readColumns(meta, target, readBack, instance[pk.property]).then(fill);
  });
}

function insertedChanges(meta: ModelMeta, instance: Instance): Changes {
  const changes: Changes = {};
  for (const column of meta.columns) if (instance[column.property] !== undefined) changes[column.property] = { old: undefined, new: instance[column.property] };
  return changes;
}

const NOTHING: ColumnMeta[] = [];

/** Cuts the instance's date-times to the fractional digits their columns store (see {@link fitDate}). */
function fitDates(meta: ModelMeta, instance: Instance, columns: readonly ColumnMeta[], target: Target): Promise<void> | undefined {
  const known = coarseColumns(meta, target.connection);
  const fit = (coarse: CoarseColumns) => {
    if (coarse.size > 0) for (const column of columns) instance[column.property] = fitDate(column, instance[column.property], coarse);
  };
  // Known after the first write to the table: no await (a write on SQLite stays synchronous to the end).
  if (known instanceof Promise) return known.then(fit);
  fit(known);
  return undefined;
}

/** The values `columns` of one row have now (after an INSERT or UPDATE, where `RETURNING` does not exist). */
async function readColumns(meta: ModelMeta, target: Target, columns: readonly ColumnMeta[], key: unknown): Promise<Record<string, unknown> | undefined> {
  const pk = meta.primaryKey;
  const statement = compiled(meta, target.connection, `inserted:${columnList(columns)}`, (knex) =>
    knex(meta.tableName)
      .select(columns.map((c) => c.column))
      .where(pk.column, slot(0)),
  );
  return (await runStatement(target, statement, [encodeFor(target, pk, key)], singleRowOptions(meta))).rows[0];
}

/** Updates the changed columns of a persisted record; resolves with old and new values, or undefined when nothing changed. */
export function updateRecord(meta: ModelMeta, instance: Instance, target: Target): MaybePromise<Changes | undefined> {
  const changed = changedColumns(meta, instance);
  if (changed.length === 0) return undefined;
  const updatedAt = meta.updatedAt;
  if (updatedAt && !changed.includes(updatedAt)) {
    instance[updatedAt.property] = new Date();
    changed.push(updatedAt);
  }
  return writeColumns(meta, instance, target, changed);
}

/**
 * Soft-deletes (`trash`) or restores a persisted record: one UPDATE of its `@DeletedAt`
 * (now, or null) and `@UpdatedAt` (now) by primary key. Other unsaved changes stay unsaved.
 */
export async function writeDeletedAt(meta: ModelMeta, instance: Instance, target: Target, trash: boolean): Promise<Changes> {
  const columns = deletedAtWrites(meta);
  const before = columns.map((c) => instance[c.property]);
  const now = new Date();
  instance[columns[0]!.property] = trash ? now : null;
  if (columns[1]) instance[columns[1].property] = new Date(now.getTime());
  try {
    return await writeColumns(meta, instance, target, columns);
  } catch (error) {
    // Nothing was written: `isTrashed` must keep telling the truth.
    columns.forEach((c, i) => (instance[c.property] = before[i]));
    throw error;
  }
}

/** The columns a soft delete or a restore writes: `@DeletedAt`, then `@UpdatedAt` if the model has one. */
export function deletedAtWrites(meta: ModelMeta): ColumnMeta[] {
  return meta.updatedAt ? [meta.deletedAt!, meta.updatedAt] : [meta.deletedAt!];
}

/** Whether a record of a soft-deleting model has its `@DeletedAt` set (in memory). */
export function isTrashed(meta: ModelMeta, instance: Instance): boolean {
  const deletedAt = meta.deletedAt;
  if (!deletedAt) return false;
  const value = instance[deletedAt.property];
  return value !== null && value !== undefined;
}

/** Writes these columns of a persisted record by primary key; resolves with their old and new values. */
function writeColumns(meta: ModelMeta, instance: Instance, target: Target, changed: readonly ColumnMeta[]): MaybePromise<Changes> {
  const fitting = fitDates(meta, instance, changed, target);
  return fitting ? fitting.then(() => writeFittedColumns(meta, instance, target, changed)) : writeFittedColumns(meta, instance, target, changed);
}

function writeFittedColumns(meta: ModelMeta, instance: Instance, target: Target, changed: readonly ColumnMeta[]): MaybePromise<Changes> {
  const pk = meta.primaryKey;
  const statement = compiled(meta, target.connection, `save:${columnList(changed)}`, (knex) =>
    knex(meta.tableName)
      .where(pk.column, slot(changed.length))
      .update(Object.fromEntries(changed.map((c, i) => [c.column, slot(i)]))),
  );
  const values = changed.map((c) => encodeFor(target, c, instance[c.property]));
  values.push(encodeFor(target, pk, originalKey(meta, instance)));
  return andThen(runStatementNow(target, statement, values, execOptions(meta)), (result) => {
    // Every adapter reports matched rows (mysql2 connects with FOUND_ROWS), so 0 means the row is gone.
    if (result.affected === 0) throw new RecordNotFoundError(meta.name, originalKey(meta, instance));
    const original = originalOf(instance);
    const changes: Changes = {};
    for (const column of changed) {
      const before = original?.[column.column];
      changes[column.property] = { old: before === undefined || before === null ? before : decoders[column.type](before), new: instance[column.property] };
    }
    remember(instance, changed, target);
    return changes;
  });
}

/**
 * Adds `by` to one numeric column in one statement (`SET c = c + ?`), so concurrent
 * increments never lose each other, and reads the new value back: with `RETURNING` where
 * it exists, else by a SELECT in the same transaction (the UPDATE's row lock keeps it exact).
 */
export async function incrementColumn(meta: ModelMeta, instance: Instance, column: ColumnMeta, by: number | bigint, target: Target): Promise<Changes> {
  const pk = meta.primaryKey;
  const returning = target.connection.dialect.supportsUpdateReturning;
  const statement = compiled(meta, target.connection, `increment:${column.column}:${returning ? 'r' : ''}`, (knex) => {
    const q = knex(meta.tableName)
      .where(pk.column, slot(1))
      .update({ [column.column]: knex.raw(`?? + ${column.type === 'float' ? '?' : target.connection.dialect.integerOperand}`, [column.column, slot(0)]) });
    return returning ? q.returning(column.column) : q;
  });
  const key = originalKey(meta, instance);
  const values = [encodeFor(target, column, by), encodeFor(target, pk, key)];
  const run = async (at: Target) => {
    const result = await runStatement(at, statement, values, returning ? singleRowOptions(meta) : execOptions(meta));
    if (result.affected === 0 && result.rows.length === 0) throw new RecordNotFoundError(meta.name, key);
    return returning ? result.rows[0] : readColumns(meta, at, [column], key);
  };
  const row = returning || target.transaction ? await run(target) : await runTransaction(target.connection, (trx) => run({ ...target, transaction: trx }));
  const old = instance[column.property];
  const value = decoders[column.type](row?.[column.column] ?? null);
  instance[column.property] = value;
  originalOf(instance)![column.column] = snapshotValue(column, value);
  return { [column.property]: { old, new: value } };
}

/** Deletes a persisted record by primary key. Resolves with the values it had. */
export async function deleteRecord(meta: ModelMeta, instance: Instance, target: Target): Promise<Changes> {
  const pk = meta.primaryKey;
  const statement = compiled(meta, target.connection, 'destroy', (knex) => knex(meta.tableName).where(pk.column, slot(0)).delete());
  await runStatement(target, statement, [encodeFor(target, pk, originalKey(meta, instance))], execOptions(meta));
  instance[DESTROYED] = true;
  instance[ORIGINAL] = undefined;
  const changes: Changes = {};
  for (const column of meta.columns) if (instance[column.property] !== undefined) changes[column.property] = { old: instance[column.property], new: undefined };
  return changes;
}

/**
 * Gives every set column of a record the value the database will give back (`'42'` → 42
 * in an integer column, a `date` cut to its UTC day), or throws a ValidationError before
 * any SQL. Nothing is assigned unless every value is accepted.
 */
export function normaliseRecord(meta: ModelMeta, instance: Instance): void {
  let replaced: Array<[string, unknown]> | undefined;
  const model = meta.name;
  for (const column of meta.columns) {
    const value = instance[column.property];
    const canonical = columnValue(model, column, value);
    if (canonical !== value) (replaced ??= []).push([column.property, canonical]);
  }
  if (replaced) for (const [property, value] of replaced) instance[property] = value;
}

/** A lookup by primary key on one dialect: made once per model, since it is the most frequent read of all. */
interface KeyLookup {
  readonly statement: CompiledStatement;
  readonly options: ExecOptions;
  readonly hydrate: Hydrator;
  readonly key: ColumnMeta;
}

function keyLookup(meta: ModelMeta, connection: Connection, trashed: Exclude<TrashedScope, 'only'>): KeyLookup {
  const slots = meta.keyLookups[connection.driver];
  const live = trashed === 'without' ? 1 : 0;
  let lookup = slots[live] as KeyLookup | undefined;
  if (lookup === undefined) {
    const pk = meta.primaryKey;
    const deletedAt = live ? meta.deletedAt : undefined;
    const statement = compiled(meta, connection, deletedAt ? 'find:live' : 'find', (knex) => {
      const q = knex(meta.tableName)
        .select(meta.columns.map((c) => c.column))
        .where(pk.column, slot(0));
      return deletedAt ? q.whereNull(deletedAt.column) : q;
    });
    slots[live] = lookup = { statement, options: lookupOptions(meta), hydrate: hydratorFor(meta, meta.columns), key: pk };
  }
  return lookup;
}

/** Loads one record by primary key, or null. A soft-deleted record is found only with `'with'`. */
export function findByKey(meta: ModelMeta, target: Target, key: unknown, trashed: Exclude<TrashedScope, 'only'>): Promise<object | null> {
  const lookup = keyLookup(meta, target.connection, trashed);
  const result = runStatementNow(target, lookup.statement, [encodeFor(target, lookup.key, key)], lookup.options);
  return result instanceof Promise ? result.then((answer) => firstRecord(lookup, answer, target)) : Promise.resolve(firstRecord(lookup, result, target));
}

function firstRecord(lookup: KeyLookup, result: ExecResult, target: Target): object | null {
  const row = result.rows[0];
  return row === undefined ? null : lookup.hydrate.one(row as unknown as unknown[], target.connection.name);
}

/** Re-reads every column of a persisted record from its connection (a soft-deleted one too: it is the same record). */
export async function reloadRecord(meta: ModelMeta, instance: Instance, target: Target): Promise<void> {
  const key = originalKey(meta, instance);
  const fresh = (await findByKey(meta, target, key, 'with')) as Instance | null;
  if (!fresh) throw new RecordNotFoundError(meta.name, key);
  for (const column of meta.columns) instance[column.property] = fresh[column.property];
  instance[ORIGINAL] = originalOf(fresh);
  instance[CONNECTION] = fresh[CONNECTION];
}

/** Refuses to write through a record that was destroyed. */
export function assertNotDestroyed(meta: ModelMeta, instance: Instance, operation: string): void {
  if (instance[DESTROYED]) throw new PolyrecordError('E_RECORD_DESTROYED', `cannot ${operation} a destroyed ${meta.name}`);
}

/** The primary key the database knows the record by (before any unsaved change to it). */
export function originalKey(meta: ModelMeta, instance: Instance): unknown {
  const pk = meta.primaryKey;
  const stored = originalValue(instance, pk.column);
  const key = stored !== undefined ? decoders[pk.type](stored) : instance[pk.property];
  if (key === undefined || key === null) throw new PolyrecordError('E_NO_PRIMARY_KEY', `${meta.name} has no primary key value`);
  return key;
}

function remember(instance: Instance, columns: readonly ColumnMeta[], target: Target): void {
  const original = originalOf(instance) ?? (instance[ORIGINAL] = {});
  for (const column of columns) original[column.column] = snapshotValue(column, instance[column.property]);
  instance[CONNECTION] = target.connection.name;
}

function columnList(columns: readonly ColumnMeta[]): string {
  return columns.map((c) => c.column).join(',');
}
