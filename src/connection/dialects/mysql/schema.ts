import { OK, keysOf, standardColumnBuilder, type SchemaSupport } from '../schema-support.js';
import { serverTypeFit, type ServerTypeFamily } from '../server-type-fit.js';

const COLUMNS_SQL = `select COLUMN_NAME as name, COLUMN_TYPE as type, IS_NULLABLE = 'YES' as nullable
from information_schema.COLUMNS where TABLE_SCHEMA = coalesce(?, database()) and TABLE_NAME = ? order by ORDINAL_POSITION`;

// Every unique key answers ON DUPLICATE KEY; a prefix one (SUB_PART) makes rows unique by a prefix of the value only, so it does not count.
const UNIQUE_KEYS_SQL = `select INDEX_NAME as \`key\`, COLUMN_NAME as \`column\`
from information_schema.STATISTICS where TABLE_SCHEMA = coalesce(?, database()) and TABLE_NAME = ? and NON_UNIQUE = 0
and INDEX_NAME not in (select INDEX_NAME from information_schema.STATISTICS where TABLE_SCHEMA = coalesce(?, database()) and TABLE_NAME = ? and SUB_PART is not null)
order by INDEX_NAME, SEQ_IN_INDEX`;

function family(type: string): ServerTypeFamily {
  const base = /^[a-z]+/.exec(type.toLowerCase())?.[0] ?? '';
  switch (base) {
    case 'tinyint':
    case 'bit':
      return 'int8';
    case 'smallint':
      return 'int16';
    case 'mediumint':
    case 'int':
    case 'integer':
      return 'int32';
    case 'bigint':
      return 'int64';
    case 'decimal':
    case 'numeric':
      return 'decimal';
    case 'float':
      return 'float32';
    case 'double':
    case 'real':
      return 'float64';
    case 'char':
    case 'varchar':
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
    case 'enum':
    case 'set':
      return 'text';
    case 'date':
      return 'date';
    case 'datetime':
    case 'timestamp':
      return 'datetime';
    case 'json':
      return 'json';
    default:
      return 'other';
  }
}

/** MySQL/MariaDB: columns and keys from information_schema; TINYINT(1) is the boolean type, and MariaDB's JSON is a LONGTEXT. */
export const mysqlSchema: SchemaSupport = {
  async readTable(run, schema, table) {
    const columns = await run(COLUMNS_SQL, [schema ?? null, table]);
    if (columns.length === 0) return undefined;
    return {
      columns: columns.map((row) => ({ name: String(row.name), type: String(row.type), nullable: Number(row.nullable) === 1 })),
      ...keysOf(await run(UNIQUE_KEYS_SQL, [schema ?? null, table, schema ?? null, table]), 'PRIMARY'),
    };
  },
  fit: (declared, column) => serverTypeFit(declared, family(column.type), column.type, OK),
  columnBuilder: standardColumnBuilder,
};
