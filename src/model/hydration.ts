import type { ColumnMeta, ModelMeta } from './metadata.js';
import { decoders, endsInZ } from '../connection/column-codecs.js';
import { sameValue } from './column-types.js';

/** Column-keyed values as last read from or written to the database; absent on new records. */
export const ORIGINAL = Symbol('polyrecord.original');
/** The canonical connection name a record was read from or written to. */
export const CONNECTION = Symbol('polyrecord.connection');
/** Set once `destroy()` has deleted the record. */
export const DESTROYED = Symbol('polyrecord.destroyed');

/** With a snapshot still held in a {@link SnapshotRows}: where the record's values start in it. */
export const OFFSET = Symbol('polyrecord.offset');

/**
 * The original snapshots of consecutive records read by one query, flat in one array:
 * record k's value of `layout[j]` is at `values[k * layout.length + j]`. A record read
 * from the database points here until the first use that needs its keyed snapshot (a
 * save, a change check) copies its slice out. One array for many records instead of one
 * per record: records that are only read cost the collector one object each, not three.
 * Never changed after the records are built, so copies of a record may share it.
 */
export class SnapshotRows {
  constructor(
    readonly values: unknown[],
    readonly layout: readonly string[],
  ) {}
}

/** How many records share one {@link SnapshotRows}: few enough that one record kept from a large read keeps little else alive. */
const SNAPSHOT_ROWS = 32;

/** Internal slots every model instance may carry. */
export interface RecordSlots {
  /** Read it through {@link originalOf} / {@link originalValue}: a record read from the database keeps its snapshot in a shared {@link SnapshotRows} until the keyed form is needed. */
  [ORIGINAL]?: Record<string, unknown> | SnapshotRows;
  [OFFSET]?: number;
  [CONNECTION]?: string;
  [DESTROYED]?: boolean;
}

/** The original snapshot keyed by column, built once from the shared rows on first use. */
export function originalOf(instance: RecordSlots): Record<string, unknown> | undefined {
  const original = instance[ORIGINAL];
  if (!(original instanceof SnapshotRows)) return original;
  const { values, layout } = original;
  const at = instance[OFFSET]!;
  const keyed: Record<string, unknown> = {};
  for (let i = 0; i < layout.length; i++) keyed[layout[i]!] = values[at + i];
  instance[ORIGINAL] = keyed;
  return keyed;
}

/** One column's original value, without keying a shared snapshot. */
export function originalValue(instance: RecordSlots, column: string): unknown {
  const original = instance[ORIGINAL];
  if (!(original instanceof SnapshotRows)) return original?.[column];
  const slot = original.layout.indexOf(column);
  return slot < 0 ? undefined : original.values[instance[OFFSET]! + slot];
}

/** Builds instances from rows given as arrays in select-list order. */
export interface Hydrator {
  /** One row (its array becomes the record's snapshot). */
  one(row: unknown[], connection: string): object;
  /** Every row of a result, in order. */
  all(rows: readonly unknown[][], connection: string): object[];
}

type BuildRecord = (row: unknown[], connection: string, snapshot: SnapshotRows, at: number) => object;

/**
 * Row → instance for one list of columns, generated once so each row costs one
 * constructor call and one typed assignment per column. A row is an array in the columns'
 * order (model reads ask the driver for arrays: no object per row). What the snapshot
 * keeps of each value goes into a {@link SnapshotRows} shared with the neighbouring rows
 * (the array rows themselves die young). JSON values are kept there as text and dates as
 * instants, so in-place edits of the instance's objects show up as changes.
 */
export function hydratorFor(meta: ModelMeta, columns: readonly ColumnMeta[]): Hydrator {
  // The full column list is by far the most common: key it without building a string.
  const key = columns === meta.columns ? '*' : columns.map((c) => c.property).join(',');
  let hydrator = meta.hydrators.get(key) as Hydrator | undefined;
  if (!hydrator) {
    // Columns left out of a partial select must not keep field initializer values: they would look like changes and be written back.
    const unselected = columns === meta.columns ? [] : meta.columns.filter((c) => !columns.includes(c));
    const assignments = columns.map((c, i) => assignment(c, `row[${i}]`, (value) => ` s[at + ${i}] = ${value};`));
    const body = [...assignments, ...unselected.map((c) => ` o[${JSON.stringify(c.property)}] = undefined;`)].join('\n');
    const factory = new Function('Ctor', 'dec', 'ORIGINAL', 'CONNECTION', 'OFFSET', `return function hydrate(row, connection, snapshot, at) {\n const o = new Ctor();\n const s = snapshot.values;\n let v;\n${body}\n o[ORIGINAL] = snapshot;\n o[OFFSET] = at;\n o[CONNECTION] = connection;\n return o;\n}`);
    const build = factory(meta.ctor, decoders, ORIGINAL, CONNECTION, OFFSET) as BuildRecord;
    hydrator = hydratorOf(build, Object.freeze(columns.map((c) => c.column)));
    meta.hydrators.set(key, hydrator);
  }
  return hydrator;
}

function hydratorOf(build: BuildRecord, layout: readonly string[]): Hydrator {
  const width = layout.length;
  return {
    one: (row, connection) => build(row, connection, new SnapshotRows(row, layout), 0),
    all(rows, connection) {
      const out = new Array<object>(rows.length);
      let snapshot: SnapshotRows | undefined;
      let at = 0;
      for (let i = 0; i < rows.length; i++) {
        if (i % SNAPSHOT_ROWS === 0) {
          snapshot = new SnapshotRows(new Array(Math.min(SNAPSHOT_ROWS, rows.length - i) * width), layout);
          at = 0;
        }
        out[i] = build(rows[i]!, connection, snapshot!, at);
        at += width;
      }
      return out;
    },
  };
}

/**
 * The statements that give one column its typed value from `read`; `keep(expression)`
 * records what the snapshot holds for it (`'v'`: the value as read).
 */
function assignment(column: ColumnMeta, read: string, keep: (value: string) => string): string {
  const p = JSON.stringify(column.property);
  const asRead = keep('v');
  switch (column.type) {
    case 'any':
      return ` v = ${read}; o[${p}] = v;${asRead}`;
    case 'string':
      return ` v = ${read}; o[${p}] = v === null || typeof v === 'string' ? v : dec.string(v);${asRead}`;
    case 'integer':
    case 'float':
      return ` v = ${read}; o[${p}] = v === null || typeof v === 'number' ? v : Number(v);${asRead}`;
    case 'boolean':
      // SQLite and MySQL answer 0/1: decided here, without a call.
      return ` v = ${read}; o[${p}] = v === 1 ? true : v === 0 ? false : v === null || typeof v === 'boolean' ? v : dec.boolean(v);${asRead}`;
    case 'json':
      return ` v = ${read}; if (v !== null && typeof v !== 'string') { o[${p}] = v;${keep('JSON.stringify(v)')} } else { o[${p}] = v === null ? null : JSON.parse(v);${asRead} }`;
    case 'datetime':
      // SQLite's ISO text (ending in Z) is read here without going through the decoder (see endsInZ).
      return ` v = ${read}; if (typeof v === 'string' && v.charCodeAt(v.length - 1) === 90) { o[${p}] = new Date(v);${asRead} } else if (v instanceof Date) { o[${p}] = v;${keep('v.getTime()')} } else { o[${p}] = dec.datetime(v);${asRead} }`;
    case 'date':
      // A driver's Date goes to the instance as it is and the snapshot keeps its instant; stored text stays in the snapshot as stored.
      return ` v = ${read}; if (v instanceof Date) { o[${p}] = v;${keep('v.getTime()')} } else { o[${p}] = dec.date(v);${asRead} }`;
    default:
      return ` v = ${read}; o[${p}] = dec.${column.type}(v);${asRead}`;
  }
}

/** Hydrates rows of hand-written SQL: known columns are typed, other fields are copied as they are. */
export function hydrateLoose(meta: ModelMeta, row: Record<string, unknown>, connection: string): object {
  const instance = new (meta.ctor as new () => Record<string | symbol, unknown>)();
  for (const [name, value] of Object.entries(row)) {
    const column = meta.byColumn.get(name);
    if (column) instance[column.property] = decoders[column.type](value);
    else instance[name] = value;
  }
  instance[ORIGINAL] = row;
  instance[CONNECTION] = connection;
  return instance;
}

/** What a value looks like in the original snapshot after it was written. */
export function snapshotValue(column: ColumnMeta, value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (column.type === 'json' && value !== null && value !== undefined) return JSON.stringify(value);
  return value;
}

/** Columns whose current value differs from the original snapshot (all set columns on a new record). */
export function changedColumns(meta: ModelMeta, instance: RecordSlots & Record<string, unknown>): ColumnMeta[] {
  const original = originalOf(instance);
  const changed: ColumnMeta[] = [];
  for (const column of meta.columns) {
    const current = instance[column.property];
    if (current === undefined) continue;
    if (!original || !(column.column in original)) {
      changed.push(column);
      continue;
    }
    const before = original[column.column];
    if (before === current) continue;
    // Dates are kept as instants in the snapshot: compare without building a Date.
    if (typeof before === 'number' && current instanceof Date) {
      if (current.getTime() !== before) changed.push(column);
      continue;
    }
    // SQLite's stored ISO text: compared as an instant, without writing the Date out as text.
    if (typeof before === 'string' && current instanceof Date && column.type === 'datetime' && endsInZ(before) && Date.parse(before) === current.getTime()) continue;
    if (column.type === 'json' && typeof before === 'string') {
      if (JSON.stringify(current) !== before) changed.push(column);
      continue;
    }
    if (!sameValue(column.type, before === null ? null : decoders[column.type](before), current)) changed.push(column);
  }
  return changed;
}
