import { keysOf, sourceText, standardColumnBuilder, warning, type SchemaSupport } from '../schema-support.js';
import { serverTypeFit, type ServerTypeFamily } from '../server-type-fit.js';

// From the catalogue rather than information_schema: format_type gives the type as written
// (`timestamp(3) with time zone`), and pg_index says which unique indexes can be a conflict target.
const COLUMNS_SQL = `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable
from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
where n.nspname = coalesce($1, current_schema()) and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm', 'f') and a.attnum > 0 and not a.attisdropped
order by a.attnum`;

// ON CONFLICT infers only immediate, non-partial unique indexes on plain columns (INCLUDE columns are not part of the key).
const UNIQUE_KEYS_SQL = `select ic.relname as key, a.attname as column, i.indisprimary as "primary"
from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace join pg_class ic on ic.oid = i.indexrelid
cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, position)
join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
where n.nspname = coalesce($1, current_schema()) and c.relname = $2 and i.indisunique and i.indimmediate and i.indpred is null and i.indexprs is null and k.position <= i.indnkeyatts
order by ic.relname, k.position`;

function family(type: string): ServerTypeFamily {
  const base = type.replace(/\(.*?\)/g, '').trim();
  switch (base) {
    case 'smallint':
      return 'int16';
    case 'integer':
      return 'int32';
    case 'bigint':
      return 'int64';
    case 'numeric':
      return 'decimal';
    case 'real':
      return 'float32';
    case 'double precision':
      return 'float64';
    case 'text':
    case 'character varying':
    case 'character':
    case 'citext':
    case 'uuid':
      return 'text';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'timestamp with time zone':
    case 'timestamp without time zone':
      return 'datetime';
    case 'json':
    case 'jsonb':
      return 'json';
    default:
      return 'other';
  }
}

/** PostgreSQL: columns and keys from pg_catalog; `json` columns are created as `jsonb`, which has equality and indexes. */
export const postgresSchema: SchemaSupport = {
  async readTable(run, schema, table) {
    const columns = await run(COLUMNS_SQL, [schema ?? null, table]);
    if (columns.length === 0) return undefined;
    return {
      columns: columns.map((row) => ({ name: String(row.name), type: String(row.type), nullable: row.nullable === true })),
      ...keysOf(await run(UNIQUE_KEYS_SQL, [schema ?? null, table])),
    };
  },
  fit: (declared, column) => serverTypeFit(declared, family(column.type), column.type, warning(`the ${column.type} column holds JSON as text, unchecked and without JSON operators; jsonb is the usual type`)),
  columnBuilder: (declared, column) => (declared === 'json' ? `t.jsonb(${sourceText(column)})` : standardColumnBuilder(declared, column)),
};

