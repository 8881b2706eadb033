import type { ColumnType } from '../../column-codecs.js';
import { OK, groupKeys, mismatch, standardColumnBuilder, warning, type SchemaSupport, type TypeFit } from '../schema-support.js';

/** SQLite's type affinity of a declared column type, by its rules (https://sqlite.org/datatype3.html#determination_of_column_affinity). */
type Affinity = 'integer' | 'text' | 'blob' | 'real' | 'numeric';

function affinity(type: string): Affinity {
  const upper = type.toUpperCase();
  if (upper.includes('INT')) return 'integer';
  if (/CHAR|CLOB|TEXT/.test(upper)) return 'text';
  if (upper.includes('BLOB') || upper.trim() === '') return 'blob';
  if (/REAL|FLOA|DOUB/.test(upper)) return 'real';
  return 'numeric';
}

// Which affinities hold each declared type as polyrecord writes it. A text value in a column of
// INTEGER, REAL or NUMERIC affinity that looks like a number is converted ('007' → 7); dates and
// JSON are text that SQLite leaves alone in NUMERIC columns (knex's `datetime`, `date`, `json`).
const FITS: Record<ColumnType, Partial<Record<Affinity, TypeFit>>> = {
  string: { text: OK, blob: OK },
  integer: { integer: OK, numeric: OK, real: warning('the REAL column holds integers as floating point'), blob: OK },
  bigint: { integer: OK, numeric: OK, blob: OK },
  float: { real: OK, numeric: OK, integer: OK, blob: OK },
  boolean: { integer: OK, numeric: OK, blob: OK },
  date: { text: OK, numeric: OK, blob: OK },
  datetime: { text: OK, numeric: OK, blob: OK },
  json: { text: OK, numeric: OK, blob: OK },
};

/** SQLite: columns and keys from the table-valued pragmas; types are judged by affinity, since SQLite stores any value in any column. */
export const sqliteSchema: SchemaSupport = {
  async readTable(run, schema, table) {
    const columns = await run('select name, type, "notnull", pk from pragma_table_info(?, ?)', [table, schema ?? 'main']);
    if (columns.length === 0) return undefined;
    // SQLite lets a non-INTEGER primary key hold NULL (a legacy quirk); polyrecord never writes one, so a key column counts as NOT NULL.
    const primary = columns.filter((row) => Number(row.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk));
    const indexes = await run(
      `select il.name as key, ii.name as "column" from pragma_index_list(?, ?) il, pragma_index_info(il.name, ?) ii
       where il."unique" = 1 and il.partial = 0 and ii.name is not null order by il.name, ii.seqno`,
      [table, schema ?? 'main', schema ?? 'main'],
    );
    return {
      columns: columns.map((row) => ({ name: String(row.name), type: String(row.type), nullable: Number(row.notnull) === 0 && Number(row.pk) === 0 })),
      uniqueKeys: [...(primary.length > 0 ? [primary.map((row) => String(row.name))] : []), ...groupKeys(indexes)],
      primaryKey: primary.length > 0 ? primary.map((row) => String(row.name)) : undefined,
    };
  },
  fit(declared, column) {
    const kind = affinity(column.type);
    return FITS[declared][kind] ?? mismatch(`the ${column.type || 'untyped'} column has ${kind.toUpperCase()} affinity, which does not hold ${declared} values faithfully`);
  },
  columnBuilder: standardColumnBuilder,
};
