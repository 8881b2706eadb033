import type { Knex } from 'knex';
import type { Connection } from '../connection/connection.js';
import type { ResolvedType } from '../connection/column-codecs.js';
import type { ColumnMeta, ModelMeta } from './metadata.js';

/** How each column type is declared; date-times keep microseconds where the database can. */
const DECLARE: Record<ResolvedType, (t: Knex.CreateTableBuilder, column: ColumnMeta) => Knex.ColumnBuilder> = {
  // A key must be indexable on MySQL (no TEXT); other strings are unbounded.
  string: (t, c) => (c.primary ? t.string(c.column, 191) : t.text(c.column)),
  integer: (t, c) => t.integer(c.column),
  bigint: (t, c) => t.bigInteger(c.column),
  float: (t, c) => t.double(c.column),
  boolean: (t, c) => t.boolean(c.column),
  date: (t, c) => t.date(c.column),
  datetime: (t, c) => t.datetime(c.column, { precision: 6 }),
  json: (t, c) => t.json(c.column),
  any: (t, c) => t.text(c.column),
};

/**
 * Creates a model's table on a connection, in that connection's dialect: one column per
 * mapped property, typed after its declared type, the primary key as declared (a single
 * integer key auto-incrementing), every other column nullable. No indexes besides the key, no defaults: enough to hold what the model
 * holds (what `polyrecord copy --create` needs), not a replacement for a migration.
 *
 * @example
 * ```ts
 * await createTableFromModel(manager.get('analytics'), modelMetadata(User))
 * ```
 */
export async function createTableFromModel(connection: Connection, meta: ModelMeta): Promise<void> {
  const keys = meta.columns.filter((column) => column.primary).map((column) => column.column);
  // A single integer key generates its values, as make:migration --from-models declares it: the
  // copied rows keep theirs, and rows the application inserts afterwards get new ones.
  const generated = keys.length === 1 ? meta.columns.find((column) => column.primary && (column.type === 'integer' || column.type === 'bigint')) : undefined;
  const builder = connection.knex.schema.createTable(meta.table!, (t) => {
    if (generated) (generated.type === 'bigint' ? t.bigIncrements(generated.column) : t.increments(generated.column));
    for (const column of meta.columns) {
      if (column === generated) continue;
      const declared = DECLARE[column.type](t, column);
      if (column.primary) declared.notNullable();
      else declared.nullable();
    }
    if (keys.length > 0 && !generated) t.primary(keys);
  });
  for (const { sql, bindings } of builder.toSQL()) await connection.execute(sql, bindings);
}
