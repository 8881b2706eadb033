import type { Contender } from './contenders/index.js';
import type { MaybePromise } from './contenders/contender.js';
import { user, users } from './data.js';
import type { BenchDatabase } from './database.js';
import { RssPeak, repeat, timed, type RoundMeasurement } from './measure.js';

/** What one contender scored on one workload. */
export interface Measurement extends RoundMeasurement {
  readonly ms: number;
  /** W6 only: peak resident-set growth during the timed iteration. */
  readonly rssMB?: number;
}

/**
 * One workload. `measure` gives the contender a freshly recreated and seeded table,
 * warms it up briefly unless `warmUp` is false (then recreates the table if the warm-up
 * wrote to it), times the workload and checks the database afterwards.
 */
export interface Workload {
  readonly id: string;
  readonly title: string;
  /** Counted in the geometric mean of the hot-path goals (W1–W7); W8 is reported beside them. */
  readonly inMean: boolean;
  measure(contender: Contender, db: BenchDatabase, warmUp?: boolean): Promise<Measurement>;
  /** The workload as many short calls that every contender makes on one table, interleaved (cold mode); absent for single-call bulk workloads. */
  readonly cold?: ColdWorkload;
}

/** One call of a cold run: contender-specific, numbered from 0. */
export type ColdCall = (i: number) => MaybePromise<unknown>;

/**
 * A per-call workload for cold mode: the table is seeded once, every contender gets its
 * own call (own rows where it writes), and the calls of all contenders are interleaved.
 */
export interface ColdWorkload {
  /** What the cold run does, for the report. */
  readonly title: string;
  /** Untimed calls per contender first (interleaved too): connections open and statements are prepared, the JIT has barely started. */
  readonly warmUp: number;
  /** Timed calls per contender. */
  readonly calls: number;
  /** Calls a contender makes in one turn before the next contender's turn. */
  readonly round: number;
  seed(db: BenchDatabase): Promise<void>;
  /** What contender number `k` calls; untimed. Calls `0 … span - 1` (timed ones, then the warm-up) each happen once for each contender. */
  open(contender: Contender, k: number, span: number): MaybePromise<ColdCall>;
  /** Checks the table after `contenders` contenders each made `span` calls. */
  check(db: BenchDatabase, contenders: number, span: number): Promise<void>;
}

/** The id contender `k` looks up at step `i`: different ids at the same step, so none reads a page another just brought in. */
function lookupId(i: number, k: number): number {
  return ((i * 7 + k * 2_503) % FIND_SEEDED) + 1;
}

// Users numbered from here are warm-up only: they never collide with measured ones.
const WARM = 1_000_000;

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`bench check failed: ${message}`);
}

async function expectCount(db: BenchDatabase, expected: number, condition?: string): Promise<void> {
  const actual = await db.count(condition);
  check(actual === expected, `expected ${expected} rows${condition ? ` where ${condition}` : ''}, found ${actual}`);
}

const FIND_SEEDED = 10_000;
const FIND_LOOKUPS = 20_000;

const READ_ROWS = 10_000;
const READ_REPEATS = 20;

const INSERT_ONE = 5_000;
const BULK_INSERT = 100_000;
const UPSERT = 50_000;
const ITERATE_ROWS = 200_000;
const ITERATE_PAGE = 1_000;
const UPDATE_SEEDED = 10_000;
const UPDATES = 5_000;
const NEW_TEXTS = 20_000;

export const WORKLOADS: readonly Workload[] = [
  {
    id: 'W1',
    inMean: true,
    title: `find by primary key (${FIND_LOOKUPS.toLocaleString('en')} lookups)`,
    async measure(c, db) {
      await db.reset(users(0, FIND_SEEDED));
      const find = async (i: number) => check((await c.findById((i % FIND_SEEDED) + 1)) != null, `id ${(i % FIND_SEEDED) + 1} not found`);
      await repeat(1_000, find);
      return { ms: await timed(() => repeat(FIND_LOOKUPS, find)) };
    },
    cold: {
      title: 'find by primary key (2,000 lookups each)',
      warmUp: 20,
      calls: 2_000,
      round: 10,
      seed: (db) => db.reset(users(0, FIND_SEEDED)),
      open: (c, k) => async (i) => {
        const id = lookupId(i, k);
        check((await c.findById(id)) != null, `id ${id} not found`);
      },
      check: async () => undefined,
    },
  },
  {
    id: 'W2',
    inMean: true,
    title: `read ${READ_ROWS.toLocaleString('en')} rows (x${READ_REPEATS})`,
    async measure(c, db) {
      await db.reset(users(0, READ_ROWS));
      const read = async () => check((await c.readRows(READ_ROWS)).length === READ_ROWS, `read fewer than ${READ_ROWS} rows`);
      await repeat(5, read);
      return { ms: await timed(() => repeat(READ_REPEATS, read)) };
    },
    cold: {
      title: `read ${READ_ROWS.toLocaleString('en')} rows (x${READ_REPEATS} each)`,
      warmUp: 2,
      calls: READ_REPEATS,
      round: 1,
      seed: (db) => db.reset(users(0, READ_ROWS)),
      open: (c) => async () => check((await c.readRows(READ_ROWS)).length === READ_ROWS, `read fewer than ${READ_ROWS} rows`),
      check: async () => undefined,
    },
  },
  {
    id: 'W3',
    inMean: true,
    title: `insert one row, returning id (${INSERT_ONE.toLocaleString('en')})`,
    async measure(c, db) {
      const insert = async (i: number) => check((await c.insertOne(user(i))) > 0, 'no generated id');
      await db.reset();
      await repeat(200, insert, WARM);
      await db.reset();
      const ms = await timed(() => repeat(INSERT_ONE, insert));
      await expectCount(db, INSERT_ONE);
      return { ms };
    },
    cold: {
      title: 'insert one row, returning id (1,000 each)',
      warmUp: 20,
      calls: 1_000,
      round: 10,
      seed: (db) => db.reset(),
      open: (c, k) => async (i) => check((await c.insertOne(user(k * WARM + i))) > 0, 'no generated id'),
      check: (db, contenders, span) => expectCount(db, contenders * span),
    },
  },
  {
    id: 'W4',
    inMean: true,
    title: `bulk insert ${BULK_INSERT.toLocaleString('en')} rows`,
    async measure(c, db, warmUp = true) {
      const rows = users(0, BULK_INSERT);
      await db.reset();
      if (warmUp) {
        await c.bulkInsert(users(WARM, 5_000));
        await db.reset();
      }
      const ms = await timed(async () => c.bulkInsert(rows));
      await expectCount(db, BULK_INSERT);
      return { ms };
    },
  },
  {
    id: 'W5',
    inMean: true,
    title: `bulk upsert ${UPSERT.toLocaleString('en')} rows, half existing`,
    async measure(c, db, warmUp = true) {
      // Every even-numbered user exists; the upsert sends revision 1 of all of them.
      const existing = users(0, UPSERT / 2, 0, 2);
      const rows = users(0, UPSERT, 1);
      await db.reset(existing);
      if (warmUp) {
        await c.bulkUpsert(rows.slice(0, 2_000));
        await db.reset(existing);
      }
      const ms = await timed(async () => c.bulkUpsert(rows));
      await expectCount(db, UPSERT);
      await expectCount(db, UPSERT, 'score >= 10000');
      return { ms };
    },
  },
  {
    id: 'W6',
    inMean: true,
    title: `batch-iterate ${ITERATE_ROWS.toLocaleString('en')} rows (pages of ${ITERATE_PAGE.toLocaleString('en')})`,
    async measure(c, db, warmUp = true) {
      await db.reset(users(0, ITERATE_ROWS));
      let pages = 0;
      if (warmUp) await c.iterate(ITERATE_PAGE, () => ++pages < 10);
      const rss = new RssPeak();
      let visited = 0;
      const ms = await timed(async () => {
        rss.start();
        visited = await c.iterate(ITERATE_PAGE, (page) => {
          rss.sample();
          check(page.length > 0, 'empty page');
        });
      });
      check(visited === ITERATE_ROWS, `visited ${visited} of ${ITERATE_ROWS} rows`);
      return { ms, rssMB: rss.growthMB };
    },
  },
  {
    id: 'W7',
    inMean: true,
    title: `update one row by primary key (${UPDATES.toLocaleString('en')})`,
    async measure(c, db) {
      const warm = 200;
      await db.reset(users(0, UPDATE_SEEDED));
      // Ids 1..UPDATES are measured, the next `warm` ones only warm up.
      const update = await c.prepareUpdates(Array.from({ length: UPDATES + warm }, (_, i) => i + 1));
      const step = (i: number) => update(i, -1 - i);
      await repeat(warm, step, UPDATES);
      const ms = await timed(() => repeat(UPDATES, step));
      await expectCount(db, UPDATES + warm, 'score < 0');
      return { ms };
    },
    cold: {
      title: 'update one row by primary key (1,000 each)',
      warmUp: 20,
      calls: 1_000,
      round: 10,
      seed: (db) => db.reset(users(0, UPDATE_SEEDED)),
      async open(c, k, span) {
        check((k + 1) * span <= UPDATE_SEEDED, 'too few rows for every contender to update its own');
        const update = await c.prepareUpdates(Array.from({ length: span }, (_, i) => k * span + i + 1));
        return (i) => update(i, -1 - i);
      },
      check: (db, contenders, span) => expectCount(db, contenders * span, 'score < 0'),
    },
  },
  {
    id: 'W8',
    inMean: false,
    title: `many shapes: find by primary key, every query a new text (${NEW_TEXTS.toLocaleString('en')})`,
    async measure(c, db) {
      await db.reset(users(0, FIND_SEEDED));
      const find = async (i: number) => check((await c.findByNewText((i % FIND_SEEDED) + 1, i)) != null, `id ${(i % FIND_SEEDED) + 1} not found`);
      await repeat(500, find, WARM);
      return { ms: await timed(() => repeat(NEW_TEXTS, find)) };
    },
    cold: {
      title: 'many shapes: find by primary key, every query a new text (2,000 each)',
      warmUp: 20,
      calls: 2_000,
      round: 10,
      seed: (db) => db.reset(users(0, FIND_SEEDED)),
      open: (c, k) => async (i) => {
        const id = lookupId(i, k);
        check((await c.findByNewText(id, k * WARM + i)) != null, `id ${id} not found`);
      },
      check: async () => undefined,
    },
  },
];
