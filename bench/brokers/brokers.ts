/**
 * The outbox through a broker, end to end (issue 11): a PostgreSQL outbox published by
 * `OutboxRelay`s to NATS JetStream or RabbitMQ, applied by `InboxConsumer`s to a MariaDB inbox
 * whose batch handler upserts the copy rows of a batch in one statement.
 *
 * - Throughput: a backlog written once through the model API (creates, then updates of every
 *   record), restored before each run, drained by N relays (each its own `runOnce()` loop and
 *   its own broker connection) into N consumers, N = 1, 2, 4. The publisher spreads records over
 *   N partitions and each consumer reads one (JetStream: a durable per partition subject with
 *   the default `max_ack_pending` 100; RabbitMQ: a single-active-consumer queue per partition,
 *   prefetch 100), so each record's events stay in order; consumers apply batches of up to 100
 *   events per transaction (the default `batchSize`). Timed from the relays' start to the last
 *   event applied.
 * - Consumers alone: the same backlog published to the broker first (consumers stopped), then
 *   N consumers started and timed until the last event applied.
 * - Latency: an open-loop producer saves new records through the model API at a steady rate
 *   while 4 started relays and 4 consumers run; latency is the consumer's commit (its `applied`
 *   event) minus the event's `occurredAt` (the outbox row's creation), both on this machine's clock.
 *
 * Sizes: `BENCH_BROKERS_RECORDS` (6,000 records, 4 events each: runs of 4–5 s, long enough that
 * starting relays and consumers is not what is measured), `BENCH_BROKERS_RELAY_BATCH`
 * (events a relay claims per round, 200), `BENCH_BROKERS_RATE` / `BENCH_BROKERS_LOW_RATE` /
 * `BENCH_BROKERS_LATENCY_S` (the latency runs: 1,000 and 100 events/s for 10 s).
 *
 * Every run ends with a check that the copies equal the source records, every outbox event is
 * done and every event is in the inbox once. Streams, exchanges and queues are named per run and
 * deleted after it.
 */
import type { Knex } from 'knex';
import { ConnectionManager, ensureInboxTable, INBOX_TABLE, InboxConsumer, OUTBOX_TABLE, OutboxRelay, ensureOutboxTable, type InboxEvent, type InboxBatchHandler } from 'polyrecord';
import { collectGarbage } from '../measure.js';
import { check, envInt, fmt, freshMysql, freshPostgres, log, pendingEvents, percentile, seedBacklog, sleep, withCleanup, type ExtraResult, type GoalCheck, type ServerUrls } from '../sync/support.js';
import { BROKER_SOURCE, BROKER_TARGET, BrokerBenchItem, COMPARED, COPY_TABLE, ITEM_TABLE, createBrokerTables } from './models.js';
import { transports, type BrokerRun, type Transport } from './transports.js';

const RECORDS = envInt('BENCH_BROKERS_RECORDS', 6_000);
const UPDATES = 3;
const EVENTS = RECORDS * (1 + UPDATES);
const COUNTS = [1, 2, 4];
const BATCH_SIZE = envInt('BENCH_BROKERS_RELAY_BATCH', 200);
const POOL = { min: 0, max: 20 };
const CONSUMER_NAME = 'bench';
const LATENCY_RATE = envInt('BENCH_BROKERS_RATE', 1_000);
/** A lower rate too, that the pipeline can keep up with on a small machine: its own latency, without a backlog. */
const LOW_RATE = envInt('BENCH_BROKERS_LOW_RATE', 100);
const LATENCY_SECONDS = envInt('BENCH_BROKERS_LATENCY_S', 10);
const LATENCY_WORKERS = 4;
/** Relays of the latency run poll this often when a round found less than a full batch. */
const POLL_MS = 20;
/** A run not finished by then is reported as failed. */
const RUN_LIMIT_MS = 300_000;
export const BROKERS_GOAL_EVENTS_PER_S = 5_000;
export const BROKERS_GOAL_P99_MS = 1_000;

const SEED_TABLE = 'broker_outbox_seed';

/** The inbox transactions one consumer's handler ran in (each batch is one). */
interface ConsumerClock {
  transactions: WeakSet<object>;
  count: number;
}

/** What the consumers of one run saw. */
interface Tally {
  applied: number;
  duplicates: number;
  failed: number;
  dead: number;
  latencies: number[];
  clocks: ConsumerClock[];
  /** Resolves once `applied` reaches the target. */
  reached: Promise<void>;
}

interface ThroughputRun {
  transport: Transport;
  n: number;
  /** Consumers alone: the backlog was in the broker before they started. */
  consumersOnly: boolean;
  ms: number;
  relaysMs: number;
  relayFailed: number;
  tally: Tally;
}

interface LatencyRun {
  transport: Transport;
  offered: number;
  achieved: number;
  events: number;
  sorted: number[];
  /** Time from the event's occurredAt to the relay's 'delivered' (the broker confirmed it), sorted. */
  published: number[];
}

function itemValues(n: number, version: number) {
  return { name: `Item ${n} v${version}`, score: version * 100_000 + n, version };
}


async function emptyTarget(target: Knex): Promise<void> {
  await target.raw(`TRUNCATE TABLE ${COPY_TABLE}`);
  await target.raw(`TRUNCATE TABLE ${INBOX_TABLE}`);
}

/** Puts the seeded backlog back in place and empties the copies and the inbox. */
async function restoreBacklog(source: Knex, target: Knex, events = EVENTS): Promise<void> {
  await emptyTarget(target);
  await source.raw(`TRUNCATE ${OUTBOX_TABLE}`);
  await source.raw(`INSERT INTO ${OUTBOX_TABLE} SELECT * FROM ${SEED_TABLE}`);
  // A smaller backlog (the warm-up): only the first `events` stay pending.
  if (events < EVENTS) await source.raw(`UPDATE ${OUTBOX_TABLE} SET status = 'done' WHERE id >= (SELECT min(id) + ? FROM ${OUTBOX_TABLE})`, [events]);
  await source.raw(`VACUUM ANALYZE ${OUTBOX_TABLE}`);
  await source.raw('CHECKPOINT');
  check((await pendingEvents(source)) === events, `restored backlog should hold ${events} pending events`);
}

function newTally(consumers: number, target: number): Tally & { reach(): void } {
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const clocks = Array.from({ length: consumers }, () => ({ transactions: new WeakSet<object>(), count: 0 }));
  const tally = { applied: 0, duplicates: 0, failed: 0, dead: 0, latencies: [] as number[], clocks, reached, reach: () => (tally.applied >= target ? reach() : undefined) };
  return tally;
}

/**
 * The batch handler: each item's last state in the run, upserted into the copy table in one
 * statement through the inbox transaction (what an application writing many rows per batch does).
 */
function copyHandler(clock: ConsumerClock): InboxBatchHandler {
  return async (events: readonly InboxEvent[], trx) => {
    if (!clock.transactions.has(trx)) {
      clock.transactions.add(trx);
      clock.count++;
    }
    const last = new Map<number, { item_id: number; name: string; score: number; version: number }>();
    for (const event of events) {
      const p = event.payload as { id: number; name: string; score: number; version: number };
      last.delete(p.id);
      last.set(p.id, { item_id: p.id, name: p.name, score: p.score, version: p.version });
    }
    await trx.table(COPY_TABLE).insert([...last.values()]).onConflict('item_id').merge();
  };
}

/** One consumer per partition, all under one inbox name; started (subscribed) before it resolves. */
async function startConsumers(run: BrokerRun, count: number, tally: Tally & { reach(): void }): Promise<InboxConsumer[]> {
  const consumers = tally.clocks.map((clock, p) => {
    const consumer = new InboxConsumer({ connection: BROKER_TARGET, name: CONSUMER_NAME, source: run.source(p), batchHandlers: { BrokerBenchItem: copyHandler(clock) } });
    consumer.events.on('applied', (event) => {
      tally.latencies.push(Date.now() - event.occurredAt.getTime());
      tally.applied++;
      tally.reach();
    });
    consumer.events.on('duplicate', () => tally.duplicates++);
    consumer.events.on('failed', () => tally.failed++);
    consumer.events.on('dead', () => tally.dead++);
    consumer.events.on('error', (error) => log(`  consumer error: ${String(error)}`));
    return consumer;
  });
  await Promise.all(consumers.map((c) => c.start()));
  return consumers;
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} not done within ${RUN_LIMIT_MS / 1000} s`)), RUN_LIMIT_MS)))]).finally(() => clearTimeout(timer));
}

/** One relay's loop: rounds until nothing is pending any more. */
async function drain(relay: OutboxRelay, source: Knex): Promise<void> {
  for (;;) {
    const result = await relay.runOnce();
    if (result.delivered + result.failed + result.dead > 0) continue;
    if ((await pendingEvents(source)) === 0) return;
    await sleep(5);
  }
}

async function throughputRun(transport: Transport, n: number, tag: string, source: Knex, events: number, consumersOnly = false): Promise<ThroughputRun> {
  const run = transport.run(tag, n);
  try {
    const tally = newTally(n, events);
    let consumers = await startConsumers(run, n, tally);
    const relays = Array.from({ length: n }, () => new OutboxRelay({ connection: BROKER_SOURCE, publish: run.publisher(), batchSize: BATCH_SIZE }));
    let relayFailed = 0;
    for (const relay of relays) relay.events.on('failed', () => relayFailed++);
    try {
      let relaysMs = 0;
      if (consumersOnly) {
        // The queues and durables exist now; the whole backlog goes to the broker before any consumer runs.
        await Promise.all(consumers.map((consumer) => consumer.stop()));
        await Promise.all(relays.map((relay) => drain(relay, source)));
        consumers = [];
      }
      collectGarbage();
      const started = performance.now();
      if (consumersOnly) consumers = await startConsumers(run, n, tally);
      const relaysDone = consumersOnly ? Promise.resolve() : Promise.all(relays.map((relay) => drain(relay, source))).then(() => (relaysMs = performance.now() - started));
      await within(Promise.all([relaysDone, tally.reached]), `${transport.label}, ${n} relay(s) and consumer(s)`);
      const ms = performance.now() - started;
      return { transport, n, consumersOnly, ms, relaysMs, relayFailed, tally };
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    }
  } finally {
    await run.remove();
  }
}

/** Every outbox event done, each applied once, and every copy equal to its source item (items with id > `afterId`). */
async function verify(source: Knex, target: Knex, events: number, afterId = 0): Promise<void> {
  const statuses = (await source(OUTBOX_TABLE).select('status').count({ n: '*' }).groupBy('status')) as Array<{ status: string; n: string | number }>;
  const byStatus = Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)]));
  check(Object.keys(byStatus).length === 1 && byStatus.done !== undefined, `outbox events not all done: ${JSON.stringify(byStatus)}`);
  const inbox = (await target(INBOX_TABLE).select('status').count({ n: '*' }).groupBy('status')) as Array<{ status: string; n: string | number }>;
  const inboxBy = Object.fromEntries(inbox.map((s) => [s.status, Number(s.n)]));
  check(inboxBy.done === events && Object.keys(inboxBy).length === 1, `expected ${events} done inbox rows, found ${JSON.stringify(inboxBy)}`);
  const items = (await source(ITEM_TABLE).where('id', '>', afterId).orderBy('id').select(...COMPARED)) as Record<string, unknown>[];
  const copies = (await target(COPY_TABLE).where('item_id', '>', afterId).orderBy('item_id').select({ id: 'item_id' }, 'name', 'score', 'version')) as Record<string, unknown>[];
  const line = (r: Record<string, unknown> | undefined) => (r ? COMPARED.map((c) => String(r[c])).join('|') : 'none');
  check(items.length > 0 && copies.length === items.length, `expected ${items.length} copies, found ${copies.length}`);
  const mismatched = items.filter((item, i) => line(item) !== line(copies[i])).length;
  check(mismatched === 0, `${mismatched} copies differ from their source item (first: ${line(items[0])} vs ${line(copies[0])})`);
}

async function waitUntilDrained(source: Knex): Promise<void> {
  while ((await pendingEvents(source)) > 0) await sleep(20);
}

/** Saves new records at `rate` per second for `seconds`, on schedule whatever the saves' latency (open loop). */
async function produce(rate: number, seconds: number, firstNumber: number): Promise<number> {
  const total = rate * seconds;
  const inFlight = new Set<Promise<unknown>>();
  const started = performance.now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; issued < due; issued++) {
      const save = BrokerBenchItem.create(itemValues(firstNumber + issued, 0));
      inFlight.add(save);
      void save.finally(() => inFlight.delete(save));
    }
    await sleep(2);
  }
  await Promise.all(inFlight);
  return total / ((performance.now() - started) / 1000);
}

async function latencyRun(transport: Transport, rate: number, tag: string, source: Knex, target: Knex): Promise<LatencyRun> {
  const events = rate * LATENCY_SECONDS;
  await emptyTarget(target);
  await source.raw(`TRUNCATE ${OUTBOX_TABLE}`);
  const [{ max }] = (await source(ITEM_TABLE).max({ max: 'id' })) as Array<{ max: number | null }>;
  const afterId = Number(max ?? 0);
  const run = transport.run(tag, LATENCY_WORKERS);
  try {
    const tally = newTally(LATENCY_WORKERS, events);
    const consumers = await startConsumers(run, LATENCY_WORKERS, tally);
    const relays = Array.from({ length: LATENCY_WORKERS }, () => new OutboxRelay({ connection: BROKER_SOURCE, publish: run.publisher(), batchSize: BATCH_SIZE, pollIntervalMs: POLL_MS }));
    const published: number[] = [];
    for (const relay of relays) relay.events.on('delivered', (event) => published.push(Date.now() - event.createdAt.getTime()));
    try {
      for (const relay of relays) relay.start();
      collectGarbage();
      const achieved = await produce(rate, LATENCY_SECONDS, 1_000_000);
      await within(tally.reached, `${transport.label} latency run`);
      // A consumer may apply an event before its relay has marked it done (the mark follows the broker's ack).
      await within(waitUntilDrained(source), `${transport.label} latency run's outbox`);
      await verify(source, target, events, afterId);
      // The throughput runs of the next broker compare the seeded items only.
      await source(ITEM_TABLE).where('id', '>', afterId).delete();
      return { transport, offered: rate, achieved, events, sorted: [...tally.latencies].sort((a, b) => a - b), published: published.sort((a, b) => a - b) };
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    }
  } finally {
    await run.remove();
  }
}

/** Events applied per inbox transaction, over the run's consumers. */
function eventsPerCommit(tally: Tally): number {
  return tally.applied / Math.max(1, tally.clocks.reduce((sum, c) => sum + c.count, 0));
}

export async function benchBrokers(urls: ServerUrls): Promise<ExtraResult> {
  if (!urls.pg || !urls.mysql || !urls.nats || !urls.amqp) throw new Error('the brokers benchmark needs POLYRECORD_PG_URL, POLYRECORD_MYSQL_URL, POLYRECORD_NATS_URL and POLYRECORD_AMQP_URL');
  return withCleanup(async (defer) => {
    const pgDb = await freshPostgres(urls.pg!, 'brk');
    defer(() => pgDb.drop());
    const myDb = await freshMysql(urls.mysql!, 'brk');
    defer(() => myDb.drop());
    const source = pgDb.knex();
    defer(() => source.destroy());
    const target = myDb.knex();
    defer(() => target.destroy());
    ConnectionManager.configure(BROKER_SOURCE, { url: pgDb.url, pool: POOL });
    defer(() => ConnectionManager.remove(BROKER_SOURCE));
    ConnectionManager.configure(BROKER_TARGET, { url: myDb.url, pool: POOL });
    defer(() => ConnectionManager.remove(BROKER_TARGET));
    await createBrokerTables(source, target);
    await ensureOutboxTable(BROKER_SOURCE);
    await ensureInboxTable(BROKER_TARGET);

    log(`\nbrokers: seeding ${RECORDS.toLocaleString('en')} items x ${1 + UPDATES} saves through the model API`);
    const seedMs = await seedBacklog(BrokerBenchItem, RECORDS, UPDATES, itemValues);
    check((await pendingEvents(source)) === EVENTS, `seeding should leave ${EVENTS} pending events`);
    await source.raw(`CREATE TABLE ${SEED_TABLE} AS SELECT * FROM ${OUTBOX_TABLE}`);
    log(`  seeded ${EVENTS.toLocaleString('en')} events in ${fmt.s(seedMs)} s`);

    const tagOf = (what: string) => `pbb_${process.pid}_${what}`;
    const runs: ThroughputRun[] = [];
    const latencies: LatencyRun[] = [];
    for (const transport of transports({ nats: urls.nats!, amqp: urls.amqp! })) {
      // Warm-up (JIT, pools, broker connections): 1,000 events through 1 relay and 1 consumer.
      await restoreBacklog(source, target, 1_000);
      await throughputRun(transport, 1, tagOf(`${transport.id}_warm`), source, 1_000);
      for (const n of COUNTS) {
        await restoreBacklog(source, target);
        const run = await throughputRun(transport, n, tagOf(`${transport.id}_${n}`), source, EVENTS);
        await verify(source, target, EVENTS);
        runs.push(run);
        log(`  ${transport.label}, ${n} relay(s) + ${n} consumer(s): ${fmt.int(EVENTS / (run.ms / 1000))} events/s (relays done after ${fmt.s(run.relaysMs)} s of ${fmt.s(run.ms)} s; ${eventsPerCommit(run.tally).toFixed(1)} events per inbox commit; ${run.tally.duplicates} dup); verified`);
      }
      await restoreBacklog(source, target);
      const alone = await throughputRun(transport, 4, tagOf(`${transport.id}_c4`), source, EVENTS, true);
      await verify(source, target, EVENTS);
      runs.push(alone);
      log(`  ${transport.label}, 4 consumers alone (backlog already in the broker): ${fmt.int(EVENTS / (alone.ms / 1000))} events/s (${eventsPerCommit(alone.tally).toFixed(1)} events per inbox commit); verified`);
      for (const rate of [LATENCY_RATE, LOW_RATE]) {
        const latency = await latencyRun(transport, rate, tagOf(`${transport.id}_lat${rate}`), source, target);
        latencies.push(latency);
        log(`  ${transport.label} at ${fmt.int(latency.achieved)} events/s: p50 ${fmt.ms(percentile(latency.sorted, 50))} ms, p99 ${fmt.ms(percentile(latency.sorted, 99))} ms (published by the relays: p50 ${fmt.ms(percentile(latency.published, 50))} ms, p99 ${fmt.ms(percentile(latency.published, 99))} ms); verified`);
      }
    }

    const rate = (run: ThroughputRun) => EVENTS / (run.ms / 1000);
    const goals: GoalCheck[] = [];
    for (const transport of transports({ nats: urls.nats!, amqp: urls.amqp! })) {
      const four = runs.find((r) => r.transport.id === transport.id && r.n === 4 && !r.consumersOnly);
      goals.push({ goal: `${transport.label}: at least ${fmt.int(BROKERS_GOAL_EVENTS_PER_S)} events/s end to end with 4 relays and 4 consumers`, met: four ? rate(four) >= BROKERS_GOAL_EVENTS_PER_S : undefined, detail: four ? `${fmt.int(rate(four))} events/s` : 'not measured' });
    }
    for (const latency of latencies.filter((l) => l.offered === LATENCY_RATE)) {
      const p99 = percentile(latency.sorted, 99);
      goals.push({ goal: `${latency.transport.label}: p99 under ${fmt.int(BROKERS_GOAL_P99_MS)} ms at ${fmt.int(latency.offered)} events/s`, met: p99 < BROKERS_GOAL_P99_MS, detail: `p99 ${fmt.ms(p99)} ms` });
    }
    goals.push({ goal: 'after each run every outbox event done, each applied once, every copy equal to its source', met: true, detail: `${runs.length + latencies.length} runs verified` });
    const latencyTable = [
      '| Broker | Offered events/s | Produced events/s | Events | p50 ms | p99 ms | max ms | Published p50 / p99 ms |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...latencies.map((l) => `| ${l.transport.label} | ${fmt.int(l.offered)} | ${fmt.int(l.achieved)} | ${fmt.int(l.events)} | ${fmt.ms(percentile(l.sorted, 50))} | ${fmt.ms(percentile(l.sorted, 99))} | ${fmt.ms(l.sorted[l.sorted.length - 1] ?? NaN)} | ${fmt.ms(percentile(l.published, 50))} / ${fmt.ms(percentile(l.published, 99))} |`),
    ].join('\n');
    return {
      title: 'Outbox through brokers (PostgreSQL outbox → broker → MariaDB inbox)',
      notes: [
        `Backlog: ${RECORDS.toLocaleString('en')} records created and updated ${UPDATES} times each through the model API = ${EVENTS.toLocaleString('en')} events (seeded in ${fmt.s(seedMs)} s), restored before each run. N relays (OutboxRelay({ publish, batchSize: ${BATCH_SIZE} }), each its own runOnce() loop and broker connection) and N InboxConsumers (default batchSize 100; one per partition, publisher partitions: N; NATS: durable per partition subject, default max_ack_pending 100; RabbitMQ: single-active-consumer queue per partition, prefetch 100) in this process; a batch handler upserts the copy rows of each run of events in one statement in the inbox transaction. "4 alone": the backlog published to the broker first, then 4 consumers started and timed. Pool max ${POOL.max} on both databases. A 1,000-event warm-up ran first per broker.`,
        'Seconds: from the relays\' start (consumers alone: their start) to the last event applied. "Relays done": when the outbox had no pending event left. "Events per commit": events applied per inbox transaction (the batches the consumers formed from what the broker had delivered).',
        `Latency: ${LATENCY_WORKERS} started relays (pollIntervalMs ${POLL_MS}) and ${LATENCY_WORKERS} consumers; an open-loop producer saves new records through the model API at ${fmt.int(LATENCY_RATE)}/s, then at ${fmt.int(LOW_RATE)}/s, for ${LATENCY_SECONDS} s each; latency = the consumer's commit minus the event's occurredAt; "published": the relay's 'delivered' (the broker's confirmation) minus occurredAt.`,
        latencyTable,
      ],
      columns: ['Broker', 'Relays + consumers', 'Events', 'Seconds', 'Events/s', 'Relays done (s)', 'Events per commit', 'Relay failed / inbox dup / dead'],
      rows: runs.map((run) => [run.transport.label, run.consumersOnly ? `${run.n} alone` : `${run.n} + ${run.n}`, fmt.int(EVENTS), fmt.s(run.ms), fmt.int(rate(run)), run.consumersOnly ? '-' : fmt.s(run.relaysMs), eventsPerCommit(run.tally).toFixed(1), `${run.relayFailed} / ${run.tally.duplicates} / ${run.tally.dead}`]),
      goals,
    };
  });
}
