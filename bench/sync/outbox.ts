/**
 * Outbox throughput: a backlog of outbox events for a model with `@Outbox` and
 * `@SyncTo` (source on PostgreSQL, copy on MariaDB), delivered by 1, 2 and 4
 * `OutboxRelay` instances in one process, each running its own `runOnce()` loop until
 * no event is left.
 *
 * The backlog is written once through the model API (creates, then updates of every
 * record), snapshotted, and restored before each relay count, so every run delivers
 * the same events. The real-time `@SyncTo` copy made while seeding is truncated
 * before each run: the relays rebuild every copy from the events.
 */
import type { Knex } from 'knex';
import { ConnectionManager, OUTBOX_TABLE, OutboxRelay, ensureOutboxTable } from 'polyrecord';
import { collectGarbage } from '../measure.js';
import { COPY_TABLE, ITEM_TABLE, OUTBOX_SOURCE, OUTBOX_TARGET, OutboxBenchItem, createOutboxTables } from './outbox-models.js';
import { check, envInt, fmt, freshMysql, freshPostgres, log, pendingEvents, SEED_LOOPS, seedBacklog, sleep, withCleanup, type ExtraResult, type GoalCheck, type ServerUrls } from './support.js';

const RECORDS = envInt('BENCH_OUTBOX_RECORDS', 5_000);
const UPDATES = 3;
const EVENTS = RECORDS * (1 + UPDATES);
const RELAY_COUNTS = [1, 2, 4];
const BATCH_SIZE = 200;
const CONCURRENCY = 16;
const POOL = { min: 0, max: 20 };
/** A run that has not drained the backlog by then is reported as failed. */
const RUN_LIMIT_MS = 100_000;
export const OUTBOX_GOAL_EVENTS_PER_S = 5_000;

const SEED_TABLE = 'outbox_seed';
const EPOCH = Date.UTC(2024, 0, 1);

interface RelayRun {
  relays: number;
  ms: number;
  rounds: number;
  failed: number;
  dead: number;
}

/** Item number `n` at `version`: every column changes with the version. */
function itemValues(n: number, version: number) {
  return { name: `Item ${n} v${version}`, email: `item${n}.v${version}@example.com`, score: version * 100_000 + n, version };
}


/** Puts the seeded backlog back in place and empties the copies. */
async function restoreBacklog(source: Knex, target: Knex): Promise<void> {
  await target.raw(`TRUNCATE TABLE ${COPY_TABLE}`);
  await source.raw(`TRUNCATE ${OUTBOX_TABLE}`);
  await source.raw(`INSERT INTO ${OUTBOX_TABLE} SELECT * FROM ${SEED_TABLE}`);
  await source.raw(`VACUUM ANALYZE ${OUTBOX_TABLE}`);
  await source.raw('CHECKPOINT');
  check((await pendingEvents(source)) === EVENTS, `restored backlog should hold ${EVENTS} pending events`);
}

/** One relay's own loop: rounds until a round finds nothing and no event is pending any more. */
async function drain(relay: OutboxRelay, source: Knex, deadline: number, counts: { rounds: number }): Promise<void> {
  for (;;) {
    if (Date.now() > deadline) throw new Error(`relays did not drain the outbox within ${RUN_LIMIT_MS / 1000} s`);
    const result = await relay.runOnce();
    counts.rounds++;
    if (result.delivered + result.failed + result.dead > 0) continue;
    // Nothing claimable for this relay: either the rest is claimed by others (their next events follow) or all is done.
    if ((await pendingEvents(source)) === 0) return;
    await sleep(5);
  }
}

async function runRelays(relayCount: number, source: Knex): Promise<RelayRun> {
  const relays = Array.from({ length: relayCount }, () => new OutboxRelay({ connection: OUTBOX_SOURCE, batchSize: BATCH_SIZE, concurrency: CONCURRENCY }));
  const counts = { rounds: 0, failed: 0, dead: 0 };
  for (const relay of relays) {
    relay.events.on('failed', () => counts.failed++);
    relay.events.on('dead', () => counts.dead++);
  }
  collectGarbage();
  const started = performance.now();
  const deadline = Date.now() + RUN_LIMIT_MS;
  await Promise.all(relays.map((relay) => drain(relay, source, deadline, counts)));
  const ms = performance.now() - started;
  return { relays: relayCount, ms, ...counts };
}

/** Every event done, and every copy equal to its source record's final state. */
async function verify(source: Knex, target: Knex): Promise<void> {
  const statuses = (await source(OUTBOX_TABLE).select('status').count({ n: '*' }).groupBy('status')) as Array<{ status: string; n: string | number }>;
  const byStatus = Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)]));
  check(byStatus.done === EVENTS && Object.keys(byStatus).length === 1, `expected ${EVENTS} done events, found ${JSON.stringify(byStatus)}`);
  const { rows: items } = await source.raw(`SELECT id, name, email, score, version, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS at FROM ${ITEM_TABLE} ORDER BY id`);
  const [copies] = await target.raw(`SELECT item_id AS id, name, email, score, version, CAST(changed_at AS CHAR) AS at FROM ${COPY_TABLE} ORDER BY item_id`);
  const line = (r: Record<string, unknown>) => [r.id, r.name, r.email, r.score, r.version, r.at].map(String).join('|');
  check(items.length === RECORDS, `expected ${RECORDS} source items, found ${items.length}`);
  check(copies.length === RECORDS, `expected ${RECORDS} copies, found ${copies.length}`);
  const mismatched = (items as Record<string, unknown>[]).filter((item, i) => line(item) !== line(copies[i])).length;
  check(mismatched === 0, `${mismatched} copies differ from their source item (first: ${line(items[0])} vs ${line(copies[0])})`);
  check((items as Array<{ version: number }>).every((item) => item.version === UPDATES), 'source items are not all at their last version');
}

export async function benchOutbox(urls: ServerUrls): Promise<ExtraResult> {
  if (!urls.pg || !urls.mysql) throw new Error('the outbox benchmark needs POLYRECORD_PG_URL and POLYRECORD_MYSQL_URL');
  return withCleanup(async (defer) => {
    const pgDb = await freshPostgres(urls.pg!);
    defer(() => pgDb.drop());
    const myDb = await freshMysql(urls.mysql!);
    defer(() => myDb.drop());
    const source = pgDb.knex();
    defer(() => source.destroy());
    const target = myDb.knex();
    defer(() => target.destroy());

    ConnectionManager.configure(OUTBOX_SOURCE, { url: pgDb.url, pool: POOL });
    defer(() => ConnectionManager.remove(OUTBOX_SOURCE));
    ConnectionManager.configure(OUTBOX_TARGET, { url: myDb.url, pool: POOL });
    defer(() => ConnectionManager.remove(OUTBOX_TARGET));

    await createOutboxTables(source, target);
    await ensureOutboxTable(OUTBOX_SOURCE);

    log(`\noutbox: seeding ${RECORDS.toLocaleString('en')} items x ${1 + UPDATES} saves through the model API (${SEED_LOOPS} loops)`);
    const seedMs = await seedBacklog(OutboxBenchItem, RECORDS, UPDATES, itemValues);
    const seeded = await pendingEvents(source);
    check(seeded === EVENTS, `seeding should leave ${EVENTS} pending events, found ${seeded}`);
    log(`  seeded ${EVENTS.toLocaleString('en')} events in ${fmt.s(seedMs)} s (${fmt.int(EVENTS / (seedMs / 1000))} saves/s)`);
    await source.raw(`CREATE TABLE ${SEED_TABLE} AS SELECT * FROM ${OUTBOX_TABLE}`);

    // Warm-up: a small backlog through one relay (JIT, pools, compiled statements), then the real runs.
    await restoreBacklog(source, target);
    await source.raw(`UPDATE ${OUTBOX_TABLE} SET status = 'done' WHERE id > (SELECT min(id) + 1000 FROM ${OUTBOX_TABLE})`);
    await runRelays(1, source);

    const runs: RelayRun[] = [];
    for (const relays of RELAY_COUNTS) {
      await restoreBacklog(source, target);
      const run = await runRelays(relays, source);
      await verify(source, target);
      runs.push(run);
      log(`  ${relays} relay(s): ${EVENTS.toLocaleString('en')} events in ${fmt.s(run.ms)} s = ${fmt.int(EVENTS / (run.ms / 1000))} events/s (${run.rounds} rounds, ${run.failed} failed, ${run.dead} dead); verified`);
    }

    const rate = (run: RelayRun) => EVENTS / (run.ms / 1000);
    const base = rate(runs[0]!);
    const four = runs.find((r) => r.relays === 4);
    const goals: GoalCheck[] = [
      {
        goal: `at least ${fmt.int(OUTBOX_GOAL_EVENTS_PER_S)} events/s with 4 relays`,
        met: four ? rate(four) >= OUTBOX_GOAL_EVENTS_PER_S : undefined,
        detail: four ? `${fmt.int(rate(four))} events/s` : 'not measured',
      },
      { goal: 'every event done and every copy equal to its source record after each run', met: true, detail: `${EVENTS.toLocaleString('en')} events, ${RECORDS.toLocaleString('en')} copies compared column by column` },
    ];
    return {
      title: 'Outbox relay throughput (PostgreSQL outbox → MariaDB copy)',
      notes: [
        `Backlog: ${RECORDS.toLocaleString('en')} records created and updated ${UPDATES} times each through the model API = ${EVENTS.toLocaleString('en')} events, seeded once in ${fmt.s(seedMs)} s (${fmt.int(EVENTS / (seedMs / 1000))} saves/s with ${SEED_LOOPS} concurrent loops, each save also making its real-time @SyncTo copy), then restored from a snapshot before each run (outbox VACUUM ANALYZEd, copies truncated).`,
        `Relays: OutboxRelay({ batchSize: ${BATCH_SIZE}, concurrency: ${CONCURRENCY} }) in this process, each in its own runOnce() loop until nothing is pending; pool max ${POOL.max} on both connections. A 1,000-event warm-up ran first.`,
      ],
      columns: ['Relays', 'Events', 'Seconds', 'Events/s', 'vs 1 relay', 'Rounds', 'Failed / dead'],
      rows: runs.map((run) => [String(run.relays), fmt.int(EVENTS), fmt.s(run.ms), fmt.int(rate(run)), fmt.x(rate(run) / base), fmt.int(run.rounds), `${run.failed} / ${run.dead}`]),
      goals,
    };
  });
}
