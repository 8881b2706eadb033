import type { ColumnType } from '../column-codecs.js';
import { OK, mismatch, warning, type TypeFit } from './schema-support.js';

/**
 * What kind of values a server column holds (PostgreSQL, MySQL/MariaDB): each dialect sorts
 * its type names into these, and {@link serverTypeFit} judges a declared type against them.
 */
export type ServerTypeFamily = 'int8' | 'int16' | 'int32' | 'int64' | 'decimal' | 'float32' | 'float64' | 'text' | 'boolean' | 'date' | 'datetime' | 'json' | 'other';

const INTEGERS = new Set<ServerTypeFamily>(['int8', 'int16', 'int32', 'int64']);

/**
 * The compatibility table of the server dialects (docs/migrations.md lists it). `jsonInText`
 * is how a `json` column fits a text column: fine on MariaDB, whose JSON type is LONGTEXT,
 * a warning on PostgreSQL, where the server then neither checks nor indexes the JSON.
 */
export function serverTypeFit(declared: ColumnType, family: ServerTypeFamily, type: string, jsonInText: TypeFit): TypeFit {
  if (family === 'other') return warning(`polyrecord cannot judge the ${type} column for ${declared} values`);
  const not = mismatch(`the ${type} column does not hold ${declared} values faithfully`);
  switch (declared) {
    case 'string':
      return family === 'text' ? OK : not;
    case 'integer':
      if (family === 'int32') return OK;
      if (family === 'int64') return warning(`the ${type} column holds 64-bit values, which an integer property reads as a number (rounded beyond 2^53); declare bigint to keep them exact`);
      if (family === 'int8' || family === 'int16') return warning(`the ${type} column is narrower than an integer: larger values are refused`);
      if (family === 'decimal' || family === 'float64') return warning(`the ${type} column holds integers, and fractions the model does not expect`);
      return not;
    case 'bigint':
      if (family === 'int64') return OK;
      if (INTEGERS.has(family)) return mismatch(`the ${type} column cannot hold 64-bit values; use bigint`);
      if (family === 'decimal') return warning(`the ${type} column holds bigint values only as long as it has no fraction digits`);
      return not;
    case 'float':
      if (family === 'float64' || family === 'decimal') return OK;
      if (family === 'float32') return warning(`the ${type} column keeps about 7 significant digits of a number`);
      if (INTEGERS.has(family)) return mismatch(`the ${type} column drops the fraction of a float`);
      return not;
    case 'boolean':
      if (family === 'boolean' || family === 'int8') return OK;
      if (INTEGERS.has(family)) return warning(`the ${type} column holds booleans as 0 and 1, and other numbers the model reads as true`);
      return not;
    case 'date':
      if (family === 'date') return OK;
      if (family === 'datetime') return warning(`the ${type} column holds a time of day too; a date property reads it as is`);
      return not;
    case 'datetime':
      if (family === 'datetime') return OK;
      if (family === 'date') return mismatch(`the ${type} column drops the time of day`);
      return not;
    case 'json':
      if (family === 'json') return OK;
      if (family === 'text') return jsonInText;
      return not;
  }
}
