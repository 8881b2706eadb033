import { PolyrecordError, QueryBuilderError } from '../../errors.js';

/**
 * A relation was used wrongly: an unknown relation name, a nested path through something
 * that is not a relation, a constraint callback that returned no query, a pivot operation
 * on a relation that is not many-to-many. Raised before any SQL is sent.
 *
 * @example
 * ```ts
 * try { await Artist.preload('albmus') } catch (e) {
 *   if (e instanceof RelationError) console.log(e.model, e.relation, e.known) // Artist albmus ['albums', 'label']
 * }
 * ```
 */
export class RelationError extends QueryBuilderError {
  readonly model: string;
  readonly relation: string;
  /** The relations the model declares. */
  readonly known: readonly string[];

  constructor(model: string, relation: string, known: readonly string[], problem: string) {
    super(`${model}.${relation}: ${problem}. ${model} declares ${known.length ? `these relations: ${known.join(', ')}` : 'no relations'}`);
    this.model = model;
    this.relation = relation;
    this.known = known;
  }
}

/**
 * A `withCount` / `whereHas` across connections would carry more keys from one database
 * to the other than the limit allows (default 10,000; `.crossConnectionKeyLimit(n)` per
 * query, `manager.crossConnectionKeyLimit` per manager). Nothing was built with them.
 */
export class CrossConnectionLimitError extends PolyrecordError {
  readonly model: string;
  readonly relation: string;
  /** How many keys there were. */
  readonly count: number;
  readonly limit: number;

  constructor(model: string, relation: string, count: number, limit: number) {
    super('E_CROSS_CONNECTION_LIMIT', `${model}.${relation} crosses connections with ${count} keys, above the limit of ${limit}; narrow the query, or raise the limit with .crossConnectionKeyLimit(n) or manager.crossConnectionKeyLimit`);
    this.model = model;
    this.relation = relation;
    this.count = count;
    this.limit = limit;
  }
}
