import { EXPECTED } from './data.js';

export type RelationContenderName = 'raw' | 'knex' | 'polyrecord' | 'objection' | 'lucid';

/** Called once per page or per 1,000 pairs during R5, so the bench can sample the resident set. */
export type Tick = () => void;

/**
 * One way of loading related rows. Each method builds the whole result (parents holding
 * their children, …) and resolves with a count taken from that result, which the
 * workload checks. A method is absent where the contender has no such feature.
 */
export interface RelationContender {
  readonly name: RelationContenderName;
  /**
   * Timed once, without a warm-up, and reported as that time × the workload's repeats: for
   * a contender so slow on this data that the full run would take most of an hour.
   */
  readonly oneCall?: boolean;
  /** R1: the first `parents` parents with their children (same connection). */
  preload(parents: number): Promise<number>;
  /** R2: the same, children on the second database. Resolves with the children attached. */
  preloadAcross?(parents: number): Promise<number>;
  /** R3: parents → children → items → notes. Resolves with the notes attached. */
  nested?(parents: number): Promise<number>;
  /** R4: every parent with its number of children. Resolves with the sum of the counts. */
  withCount?(): Promise<number>;
  /** R5: every event paired with its parent, events streamed in pages; stops after `limit` pairs. Resolves with the pairs seen. */
  correlate?(limit: number, tick: Tick): Promise<number>;
  close(): Promise<void>;
}

export type Row = Record<string, unknown>;

/**
 * What a careful user writes by hand: every row keyed by id in a Map, then each child
 * pushed onto its parent's array (O(parents + children)). Resolves with the children placed.
 */
export function groupInto(parents: readonly Row[], children: readonly Row[], foreignKey: string, property: string): number {
  const byId = new Map<unknown, Row[]>();
  for (const parent of parents) {
    const list: Row[] = [];
    parent[property] = list;
    byId.set(parent.id, list);
  }
  let placed = 0;
  for (const child of children) {
    const list = byId.get(child[foreignKey]);
    if (list) {
      list.push(child);
      placed++;
    }
  }
  return placed;
}

const ids = (rows: readonly Row[]) => rows.map((row) => row.id);

/** The hand-written queries of the knex and raw-driver contenders (each turns them into SQL its own way). */
export interface HandReader {
  /** `SELECT id, name FROM rel_parents WHERE id <= ? ORDER BY id` (all parents when `limit` is undefined). */
  parents(limit?: number): Promise<Row[]>;
  /** `SELECT columns FROM table WHERE column IN (values)` on the main or the second database. */
  whereIn(second: boolean, table: string, columns: readonly string[], column: string, values: readonly unknown[]): Promise<Row[]>;
  /** Every parent with `children_count`, one statement with a correlated subquery (what `withCount` sends). */
  parentsWithCount(): Promise<Row[]>;
  /** `SELECT id, parent_id, amount FROM rel_events WHERE id > ? ORDER BY id LIMIT ?`. */
  eventsAfter(after: number, size: number): Promise<Row[]>;
  close(): Promise<void>;
}

/** R1–R5 written by hand over a reader: two (or four) queries and grouping in Maps. */
export function handWritten(name: RelationContenderName, reader: HandReader, page: number): RelationContender {
  const preload = async (parents: number, second: boolean) => {
    const rows = await reader.parents(parents);
    return groupInto(rows, await reader.whereIn(second, 'rel_children', ['id', 'parent_id', 'title'], 'parent_id', ids(rows)), 'parent_id', 'children');
  };
  return {
    name,
    preload: (parents) => preload(parents, false),
    preloadAcross: (parents) => preload(parents, true),
    async nested(parents) {
      const rows = await reader.parents(parents);
      const children = await reader.whereIn(false, 'rel_children', ['id', 'parent_id', 'title'], 'parent_id', ids(rows));
      groupInto(rows, children, 'parent_id', 'children');
      const items = await reader.whereIn(false, 'rel_items', ['id', 'child_id', 'label'], 'child_id', ids(children));
      groupInto(children, items, 'child_id', 'items');
      return groupInto(items, await reader.whereIn(false, 'rel_notes', ['id', 'item_id', 'body'], 'item_id', ids(items)), 'item_id', 'notes');
    },
    async withCount() {
      let sum = 0;
      // PostgreSQL answers count(*) as a bigint string.
      for (const row of await reader.parentsWithCount()) sum += Number(row.children_count);
      return sum;
    },
    async correlate(limit, tick) {
      const parents = new Map((await reader.parents()).map((row) => [row.id, row]));
      let after = 0;
      let pairs = 0;
      for (;;) {
        const events = await reader.eventsAfter(after, page);
        for (const event of events) {
          if (parents.get(event.parent_id) !== undefined) pairs++;
        }
        tick();
        if (events.length < page || pairs >= limit) return pairs;
        after = events[events.length - 1]!.id as number;
      }
    },
    close: () => reader.close(),
  };
}

export { EXPECTED };
