import type { Knex } from 'knex';
import type { DialectAdapter } from '../connection/dialects/dialect.js';
import { QueryBuilderError } from '../errors.js';
import type { ResolvedType } from '../connection/column-codecs.js';
import { columnValue } from './column-values.js';
import type { ColumnMeta } from './metadata.js';
import { slot } from './statement-compiler.js';

/** Comparison operators accepted by `where(prop, op, value)`. Anything else is refused before SQL is built. */
export const OPERATORS = ['=', '!=', '<>', '<', '<=', '>', '>=', 'like', 'not like'] as const;
export type Operator = (typeof OPERATORS)[number];

export type Bool = 'and' | 'or';

/** One condition of a query's WHERE part, without its values (they are bound in order). */
export type WhereNode =
  | { kind: 'op'; bool: Bool; column: string; op: Operator }
  | { kind: 'in'; bool: Bool; column: string; not: boolean; count: number }
  | { kind: 'inList'; bool: Bool; column: string; not: boolean }
  | { kind: 'null'; bool: Bool; column: string; not: boolean }
  | { kind: 'between'; bool: Bool; column: string; not: boolean }
  | { kind: 'like'; bool: Bool; column: string; insensitive: boolean }
  | { kind: 'raw'; bool: Bool; sql: string; count: number }
  | { kind: 'after'; bool: Bool; columns: readonly string[] }
  | { kind: 'group'; bool: Bool; not: boolean; nodes: readonly WhereNode[] }
  /** `[NOT] EXISTS (subquery)` (relation filters); `build` writes the subquery with slots from `index`. */
  | { kind: 'exists'; bool: Bool; not: boolean; count: number; build: (q: Knex.QueryBuilder, index: number, dialect: DialectAdapter) => void };

/**
 * How a bound value is encoded: as a column type; (a long `whereIn` list) as a list of
 * them bound as one value; or as a LIKE pattern, which a dialect may rewrite.
 */
export type ValueType = ResolvedType | { readonly list: ResolvedType } | { readonly like: boolean };

/** Writes one condition onto a knex builder with {@link slot}s for its values; returns the next value index. */
export function applyWhere(q: Knex.QueryBuilder, node: WhereNode, index: number, dialect: DialectAdapter): number {
  const or = node.bool === 'or';
  switch (node.kind) {
    case 'op':
      if (or) q.orWhere(node.column, node.op, slot(index));
      else q.where(node.column, node.op, slot(index));
      return index + 1;
    case 'null':
      if (or) (node.not ? q.orWhereNotNull(node.column) : q.orWhereNull(node.column));
      else node.not ? q.whereNotNull(node.column) : q.whereNull(node.column);
      return index;
    case 'in': {
      const slots = Array.from({ length: node.count }, (_, i) => slot(index + i));
      if (node.not) q.whereNotIn(node.column, slots);
      else q.whereIn(node.column, slots);
      return index + node.count;
    }
    case 'inList':
      q.whereRaw(dialect.boundList.condition(node.not), [node.column, slot(index)]);
      return index + 1;
    case 'between': {
      const range: [string, string] = [slot(index), slot(index + 1)];
      if (node.not) q.whereNotBetween(node.column, range);
      else q.whereBetween(node.column, range);
      return index + 2;
    }
    case 'like':
      q.whereRaw(dialect.like.condition(node.insensitive), [node.column, slot(index)]);
      return index + 1;
    case 'raw': {
      const slots = Array.from({ length: node.count }, (_, i) => slot(index + i));
      if (or) q.orWhereRaw(node.sql, slots);
      else q.whereRaw(node.sql, slots);
      return index + node.count;
    }
    case 'exists': {
      const { build } = node;
      // knex runs the callback when it compiles: the slots are fixed now.
      const start = index;
      const sub = function (this: Knex.QueryBuilder) {
        build(this, start, dialect);
      };
      if (or) (node.not ? q.orWhereNotExists(sub) : q.orWhereExists(sub));
      else node.not ? q.whereNotExists(sub) : q.whereExists(sub);
      return index + node.count;
    }
    case 'after': {
      q.where(node.columns[0]!, '>=', slot(index));
      // knex runs grouping callbacks when it compiles, after this loop: their slots are fixed now.
      const first = index + 1;
      const group = function (this: Knex.QueryBuilder) {
        let next = first;
        node.columns.forEach((column, i) => {
          this.orWhere(function (this: Knex.QueryBuilder) {
            for (let j = 0; j < i; j++) this.where(node.columns[j]!, slot(next++));
            this.where(column, '>', slot(next++));
          });
        });
      };
      if (or) q.orWhere(group);
      else q.where(group);
      return index + slotCount(node);
    }
    case 'group': {
      const group = function (this: Knex.QueryBuilder) {
        let next = index;
        for (const child of node.nodes) next = applyWhere(this, child, next, dialect);
      };
      if (node.not) (or ? q.orWhereNot(group) : q.whereNot(group));
      else or ? q.orWhere(group) : q.where(group);
      return index + slotCount(node);
    }
  }
}

/** How many bound values a condition takes. */
function slotCount(node: WhereNode): number {
  switch (node.kind) {
    case 'op':
    case 'inList':
    case 'like':
      return 1;
    case 'null':
      return 0;
    case 'between':
      return 2;
    case 'in':
    case 'raw':
    case 'exists':
      return node.count;
    case 'after':
      return 1 + (node.columns.length * (node.columns.length + 1)) / 2;
    case 'group':
      return node.nodes.reduce((sum, child) => sum + slotCount(child), 0);
  }
}

/**
 * Every `?` of hand-written SQL is a placeholder, including one inside a quoted literal;
 * `\\?` writes a literal question mark (`??` is knex's identifier placeholder). A count
 * that does not match the bindings is refused here with that explanation, instead of a
 * bare knex error (or, worse, values bound in the wrong places).
 */
export function checkRawPlaceholders(method: string, sql: string, bindings: readonly unknown[]): void {
  if (!Array.isArray(bindings)) throw new QueryBuilderError(`${method}() takes its values as an array`);
  let placeholders = 0;
  for (let i = 0; i < sql.length; i++) {
    if (sql[i] === '\\' && sql[i + 1] === '?') i++;
    else if (sql[i] === '?') {
      placeholders++;
      if (sql[i + 1] === '?') i++;
    }
  }
  if (placeholders !== bindings.length) {
    throw new QueryBuilderError(
      `${method}(): the SQL has ${placeholders} ? placeholder(s) but ${bindings.length} value(s) were given. A ? inside a quoted literal is a placeholder too: bind the literal as a value, or write \\? for a literal question mark (in a JS string: "name <> '\\\\?'").`,
    );
  }
}

/** Refuses a value a condition on `column` cannot take, before any SQL. */
export function checkValue(model: string, column: Pick<ColumnMeta, 'property' | 'type'>, value: unknown): unknown {
  if (value === undefined) throw new QueryBuilderError(`the value for ${column.property} is undefined; use null to match NULL`);
  if (Array.isArray(value) && column.type !== 'json' && column.type !== 'any') throw new QueryBuilderError(`the value for ${column.property} must be a scalar; use whereIn() for a list`);
  return columnValue(model, column, value);
}
