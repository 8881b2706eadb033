import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BrokerPackageMissingError,
  BrokerPublishError,
  ConnectionManager,
  ensureInboxTable,
  INBOX_TABLE,
  InboxConsumer,
  natsPublisher,
  natsSource,
  OUTBOX_TABLE,
  OutboxRelay,
  partitionOf,
  rabbitPublisher,
  rabbitSource,
  type ConnectionConfig,
  type InboxEvent,
  type QueryEvent,
  type Transaction,
} from '../src/index.js';
import amqp from 'amqplib';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import { replacePackageImporter } from '../src/brokers/optional-package.js';
import { AMQP_URL, BROKERS_AVAILABLE, brokerNames, closeRabbitConnections, expectDeliveredOnceInOrder, logAndCopyMember, publisherFor, sourceFor, type Broker, HAS_RABBITMQCTL, NATS_URL, queueMessages, removeBrokerNames, streamMessages, type BrokerNames } from './support/brokers.js';
import { compileFixture } from './support/compile-fixture.js';
import { describeEachDialect } from './support/dialects.js';
import { countOf, Member, pairSource, pairTarget, setUpMemberPair } from './support/sync-models.js';
import { waitFor } from './support/wait.js';

const BROKERS: Broker[] = ['nats', 'rabbit'];

const consumerName = (broker: Broker, names: BrokerNames) => (broker === 'nats' ? names.durable : names.queue);

/** Runs test/fixtures/broker-child.ts; resolves when it exits (killed or not), with its output. With `until`, SIGTERMs it once that holds. */
function runChild(script: string, spec: object, until?: () => Promise<boolean>): Promise<{ signal: NodeJS.Signals | null; code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { ...process.env, BROKER_CHILD: JSON.stringify(spec) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let exited = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      exited = true;
      clearTimeout(guard);
      resolve({ code, signal, output });
    });
    if (until)
      void (async () => {
        while (!exited && !(await until())) await new Promise((r) => setTimeout(r, 20));
        if (!exited) child.kill('SIGTERM');
      })();
  });
}

if (!BROKERS_AVAILABLE) describe.skip('outbox through brokers to inbox consumers (needs POLYRECORD_NATS_URL and POLYRECORD_AMQP_URL)', () => {});
else describeEachDialect('outbox through brokers to inbox consumers', (dialect) => {
  let drop: () => Promise<void>;
  let configs: ConnectionConfig[];
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    ({ drop, configs } = await setUpMemberPair(dialect));
    await ensureInboxTable('dst');
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  const [src, dst, count] = [pairSource, pairTarget, countOf];
  const inboxDone = (consumer: string) => count(dst()(INBOX_TABLE).where({ consumer, status: 'done' }).count({ n: '*' }));

  /** Members with several updates each, some destroyed; the real-time copies and old logs are wiped so only the consumer can rebuild them. */
  async function makeEvents(members: number): Promise<number> {
    for (const table of ['member_copies', 'deliveries', INBOX_TABLE]) await dst()(table).delete();
    for (const table of ['members', OUTBOX_TABLE]) await src()(table).delete();
    const made: Member[] = [];
    for (let i = 0; i < members; i++) made.push(await Member.create({ email: `m${i}@b.io`, visits: 0 }));
    for (let round = 1; round <= 2; round++) {
      for (const member of made) {
        member.visits = round;
        await member.save();
      }
    }
    for (const member of made.slice(0, Math.floor(members / 5))) await member.destroy();
    await dst()('member_copies').delete();
    return count(src()(OUTBOX_TABLE).count({ n: '*' }));
  }

  /** Runs rounds until one finds nothing, then stops the relay (which closes its publisher's connection). */
  async function drainRelay(relay: OutboxRelay): Promise<void> {
    for (;;) {
      const result = await relay.runOnce();
      if (result.delivered + result.failed + result.dead === 0) break;
    }
    await relay.stop();
  }

  /** Every event done at the source, applied once at the target (per the log, when kept), in order per record; the copies equal the source. */
  async function assertConverged(events: number, consumer: string, logged: boolean): Promise<void> {
    expect(await count(src()(OUTBOX_TABLE).whereNot({ status: 'done' }).count({ n: '*' }))).toBe(0);
    expect(await inboxDone(consumer)).toBe(events);
    const expected = (await src()('members').orderBy('id').select('id', 'email', 'visits')).map((m) => ({ member_id: m.id, email: m.email, visits: m.visits }));
    expect(await dst()('member_copies').orderBy('member_id').select('member_id', 'email', 'visits')).toEqual(expected);
    if (logged) await expectDeliveredOnceInOrder(events);
  }

  /** A handler that logs each applied event inside the inbox transaction, then copies the member. */
  const loggingHandler = logAndCopyMember;

  async function startConsumer(broker: Broker, names: BrokerNames, handlers?: Record<string, (event: InboxEvent, trx: Transaction) => unknown>, batchSize?: number, maxAckPending?: number) {
    const consumer = new InboxConsumer({ connection: 'dst', source: sourceFor(broker, names, maxAckPending), handlers, backoff: { baseMs: 10, maxMs: 50 }, batchSize });
    const seen = { applied: 0, duplicate: 0, errors: [] as unknown[] };
    consumer.events.on('applied', () => (seen.applied += 1));
    consumer.events.on('duplicate', () => (seen.duplicate += 1));
    consumer.events.on('error', (error) => seen.errors.push(error));
    await consumer.start();
    cleanup.unshift(() => consumer.stop());
    return { consumer, seen };
  }

  function useNames(): BrokerNames {
    const names = brokerNames();
    cleanup.push(() => removeBrokerNames(names));
    return names;
  }

  for (const broker of BROKERS) {
    it(`${broker}: every event reaches the InboxConsumer and is applied once (@SyncTo delivery); a republished event has no second effect`, async () => {
      const names = useNames();
      const events = await makeEvents(20);
      const relay = new OutboxRelay({ connection: 'src', batchSize: 25, publish: publisherFor(broker, names) });
      cleanup.unshift(() => relay.stop());
      // RabbitMQ drops what no queue takes, so its consumer binds first; JetStream keeps the events for a consumer that comes later.
      const { seen } = broker === 'rabbit' ? await startConsumer(broker, names) : { seen: undefined };
      await drainRelay(relay);
      const { seen: counted } = seen ? { seen } : await startConsumer(broker, names);
      await waitFor(() => counted.applied === events, 'every event applied', 60_000);
      await assertConverged(events, consumerName(broker, names), false);

      // Every event published again, as a relay that died before its done marks would.
      await src()(OUTBOX_TABLE).update({ status: 'pending', attempts: 0, locked_until: null });
      await drainRelay(relay);
      if (broker === 'nats') {
        // JetStream's duplicate window drops the republished messages (same Nats-Msg-Id).
        expect(await streamMessages(names.stream)).toBe(events);
      } else {
        // RabbitMQ has no dedupe: the consumer gets every message again and its inbox drops them.
        await waitFor(() => counted.duplicate === events, 'every duplicate dropped by the inbox', 60_000);
      }
      expect(counted.applied).toBe(events);
      await assertConverged(events, consumerName(broker, names), false);
    }, 120_000);

    it(`${broker}: a relay SIGKILLed between the broker's ack and its done mark causes a duplicate that is dropped`, async () => {
      const names = useNames();
      const script = compileFixture('test/fixtures/broker-child.ts');
      const events = await makeEvents(15);
      const spec = { role: 'relay', broker, src: configs[0], dst: configs[1], names, natsUrl: NATS_URL, amqpUrl: AMQP_URL };
      const { seen } = await startConsumer(broker, names, { Member: loggingHandler });
      // Killed right after its second round's acks: 10 events confirmed by the broker, still pending in the outbox.
      const killed = await runChild(script, { ...spec, killAfterAckRound: 2 });
      expect(killed.signal, killed.output).toBe('SIGKILL');
      const leasedUntil = Number((await src()(OUTBOX_TABLE).where({ status: 'pending' }).max({ t: 'locked_until' }))[0]!.t ?? 0);
      expect(leasedUntil).toBeGreaterThan(0);
      await waitFor(() => Date.now() > leasedUntil, "the killed relay's lease to expire");
      const clean = await runChild(script, spec);
      expect(clean.code, clean.output).toBe(0);
      await waitFor(async () => (await inboxDone(consumerName(broker, names))) === events, 'every event in the inbox', 60_000);
      // The republished round: JetStream drops it by message id; RabbitMQ delivers it and the inbox drops it.
      if (broker === 'nats') expect(await streamMessages(names.stream)).toBe(events);
      else await waitFor(() => seen.duplicate === 10, 'the 10 republished events dropped by the inbox', 60_000);
      await assertConverged(events, consumerName(broker, names), true);
      // 'applied' is emitted after the ack, a moment after the commit the inbox shows.
      await waitFor(() => seen.applied === events, "every event's applied notice");
    }, 120_000);

    it(`${broker}: a consumer SIGKILLed inside a batch's transaction gets the batch again and applies each event once, in order`, async () => {
      const names = useNames();
      const script = compileFixture('test/fixtures/broker-child.ts');
      const events = await makeEvents(15);
      // Topology first (the RabbitMQ queue and binding, the JetStream stream), then every event published.
      const { consumer } = await startConsumer(broker, names, { Member: loggingHandler });
      await consumer.stop();
      await drainRelay(new OutboxRelay({ connection: 'src', publish: publisherFor(broker, names) }));
      const ids = (await src()(OUTBOX_TABLE).orderBy('id').select('id')).map((r) => String(r.id));
      const marker = join(mkdtempSync(join(tmpdir(), 'polyrecord-broker-')), 'killed');
      const spec = { role: 'consumer', broker, src: configs[0], dst: configs[1], names, natsUrl: NATS_URL, amqpUrl: AMQP_URL, killAtEvent: ids[Math.floor(ids.length / 2)], marker };
      const killed = await runChild(script, spec);
      expect(killed.signal, killed.output).toBe('SIGKILL');
      // Killed mid-batch: the transaction held several events, the killed one last.
      const inKilled = Number(/killed in a transaction of (\d+) events/.exec(killed.output)?.[1]);
      expect(inKilled, killed.output).toBeGreaterThan(1);
      // Only the batches committed before the kill are in the inbox; the killed transaction left nothing.
      expect(await inboxDone(consumerName(broker, names))).toBe(Math.floor(ids.length / 2) + 1 - inKilled);
      expect(await count(dst()('deliveries').count({ n: '*' }))).toBe(Math.floor(ids.length / 2) + 1 - inKilled);
      // Newer events of the same records reach the broker while the killed batch is unacked: they must not be applied before it.
      for (const member of await Member.query().orderBy('id')) {
        member.visits += 10;
        await member.save();
      }
      await drainRelay(new OutboxRelay({ connection: 'src', publish: publisherFor(broker, names) }));
      const all = await count(src()(OUTBOX_TABLE).count({ n: '*' }));
      expect(all).toBeGreaterThan(events);
      const rerun = await runChild(script, spec, async () => (await inboxDone(consumerName(broker, names))) === all);
      expect(rerun.signal, rerun.output).toBe('SIGTERM');
      await assertConverged(all, consumerName(broker, names), true);
    }, 120_000);

    it(`${broker}: a handler that keeps failing is retried, then recorded dead in the inbox and dead-lettered; retryDead applies it`, async () => {
      const names = useNames();
      const events = await makeEvents(5);
      const poisoned = (await src()(OUTBOX_TABLE).orderBy('id').first('id'))!.id as number | string;
      let failing = true;
      const tries = new Map<string, number>();
      const handler = async (event: InboxEvent, trx: Transaction) => {
        tries.set(event.id, (tries.get(event.id) ?? 0) + 1);
        if (failing && event.id === String(poisoned)) throw new Error('the target refuses this one');
        await loggingHandler(event, trx);
      };
      const consumer = new InboxConsumer({ connection: 'dst', source: sourceFor(broker, names), handlers: { Member: handler }, maxAttempts: 3, backoff: { baseMs: 5, maxMs: 20 } });
      const dead: Array<{ id: string | undefined; error: unknown }> = [];
      consumer.events.on('dead', (event, error) => dead.push({ id: event?.id, error }));
      await consumer.start();
      cleanup.unshift(() => consumer.stop());
      await drainRelay(new OutboxRelay({ connection: 'src', publish: publisherFor(broker, names) }));
      await waitFor(async () => (await inboxDone(consumerName(broker, names))) === events - 1 && dead.length === 1, 'all but the poisoned event applied', 60_000);
      expect(tries.get(String(poisoned))).toBe(3);
      expect(dead[0]).toMatchObject({ id: String(poisoned) });
      expect(await consumer.deadEvents()).toEqual([expect.objectContaining({ id: String(poisoned), model: 'Member', attempts: 3, lastError: 'Error: the target refuses this one' })]);
      // The dead-letter copy is stored by the broker.
      if (broker === 'nats') await waitFor(async () => (await streamMessages(`${names.stream}_DEAD`)) === 1, 'the dead-letter copy');
      else await waitFor(async () => (await queueMessages(`${names.queue}.dead`)) === 1, 'the dead-letter copy');
      // A later event of the same record went on (the broker moved past the dead one); replaying the dead one re-applies an older state.
      failing = false;
      expect(await consumer.retryDead()).toBe(1);
      expect(await consumer.deadEvents()).toEqual([]);
      expect(await inboxDone(consumerName(broker, names))).toBe(events);
      expect(await count(dst()('deliveries').where({ event_id: Number(poisoned) }).count({ n: '*' }))).toBe(1);
    }, 120_000);

    it(`${broker}: a batch is one transaction: a handler failing on its 3rd event rolls the batch back; then each event is applied once on its own and the failing one is retried, then dead`, async () => {
      const names = useNames();
      const events = await makeEvents(5);
      const calls: Array<{ id: string; attempts: number; trx: Transaction; position: number }> = [];
      const positions = new WeakMap<Transaction, number>();
      let failOn: string | undefined;
      const handler = async (event: InboxEvent, trx: Transaction) => {
        const position = (positions.get(trx) ?? 0) + 1;
        positions.set(trx, position);
        calls.push({ id: event.id, attempts: event.attempts, trx, position });
        // The 3rd event of the first transaction that gets that far fails, on every try.
        if (failOn === undefined && position === 3) failOn = event.id;
        if (event.id === failOn) throw new Error('the target refuses this one');
        await loggingHandler(event, trx);
      };
      // NATS: batches need a durable that lets several messages be unacked.
      const consumer = new InboxConsumer({ connection: 'dst', source: sourceFor(broker, names), handlers: { Member: handler }, maxAttempts: 3, backoff: { baseMs: 5, maxMs: 20 } });
      const failed: Array<{ id: string; attempts: number }> = [];
      const dead: Array<string | undefined> = [];
      consumer.events.on('failed', (event) => failed.push({ id: event.id, attempts: event.attempts }));
      consumer.events.on('dead', (event) => dead.push(event?.id));
      // The queue or stream first; every event published while the consumer is stopped comes in one delivery.
      await consumer.start();
      await consumer.stop();
      await drainRelay(new OutboxRelay({ connection: 'src', publish: publisherFor(broker, names) }));
      await consumer.start();
      cleanup.unshift(() => consumer.stop());
      await waitFor(async () => (await inboxDone(consumerName(broker, names))) === events - 1 && dead.length === 1, 'all but the failing event applied', 60_000);

      // The batch's try: three events in one transaction, the third failing.
      const third = calls.find((c) => c.id === failOn)!;
      const [first, second] = calls.filter((c) => c.trx === third.trx);
      expect(calls.filter((c) => c.trx === third.trx).map((c) => c.position)).toEqual([1, 2, 3]);
      expect(third).toMatchObject({ position: 3, attempts: 1 });
      // Nothing of that try was committed: the first two were applied again, each in its own transaction, and are logged once.
      for (const { id } of [first!, second!]) expect(calls.filter((c) => c.id === id).map((c) => c.trx !== third.trx)).toEqual([false, true]);
      const logged = (await dst()('deliveries').orderBy('id').select('event_id')).map((r) => String(r.event_id));
      const ids = (await src()(OUTBOX_TABLE).orderBy('id').select('id')).map((r) => String(r.id));
      expect(logged).toEqual(ids.filter((id) => id !== failOn));
      // The failing event: its try in the batch was its first, then two more on its own, then dead.
      expect(calls.filter((c) => c.id === failOn).map((c) => c.attempts)).toEqual([1, 2, 3]);
      expect(failed).toEqual([{ id: failOn, attempts: 1 }, { id: failOn, attempts: 2 }]);
      expect(dead).toEqual([failOn]);
      expect(await consumer.deadEvents()).toEqual([expect.objectContaining({ id: failOn, attempts: 3 })]);
      // The events after it were handled once, after it.
      const after = ids.slice(ids.indexOf(failOn!) + 1);
      expect(after.length).toBeGreaterThan(0);
      for (const id of after) expect(calls.filter((c) => c.id === id)).toHaveLength(1);
    }, 120_000);

    it(`${broker}: batch handlers get runs of a model's events, in order, in the batch's transaction; a run that fails is retried one event at a time`, async () => {
      const names = useNames();
      const events = await makeEvents(10);
      const runs: Array<{ ids: string[]; trx: Transaction }> = [];
      let failedOnce = false;
      const batchHandler = async (run: readonly InboxEvent[], trx: Transaction) => {
        runs.push({ ids: run.map((e) => e.id), trx });
        for (const event of run) await loggingHandler(event, trx);
        // The first run of several events fails after writing: none of it may stay.
        if (!failedOnce && run.length > 1) {
          failedOnce = true;
          throw new Error('the first run fails');
        }
      };
      const consumer = new InboxConsumer({ connection: 'dst', source: sourceFor(broker, names), batchHandlers: { Member: batchHandler }, backoff: { baseMs: 5, maxMs: 20 } });
      await consumer.start();
      await consumer.stop();
      await drainRelay(new OutboxRelay({ connection: 'src', publish: publisherFor(broker, names) }));
      await consumer.start();
      cleanup.unshift(() => consumer.stop());
      await waitFor(async () => (await inboxDone(consumerName(broker, names))) === events, 'every event applied', 60_000);
      // The broker may hand over the first message on its own before the rest: the failed run is the first of several events.
      const failedAt = runs.findIndex((r) => r.ids.length > 1);
      expect(failedAt).toBeGreaterThanOrEqual(0);
      const [failed, later] = [runs[failedAt], runs.slice(failedAt + 1)];
      // The failed run's events came again one by one, each in a transaction of its own.
      for (const id of failed!.ids) expect(later.filter((r) => r.ids.includes(id)).map((r) => r.ids.length)).toEqual([1]);
      await assertConverged(events, consumerName(broker, names), true);
    }, 120_000);

    it(`${broker}: @SyncTo delivery of a batch leaves each copy in its record's last state (created, updated and destroyed in one batch)`, async () => {
      const names = useNames();
      const events = await makeEvents(10);
      const { consumer, seen } = await startConsumer(broker, names, undefined, 500, 500);
      await consumer.stop();
      let inboxInserts = 0;
      const countInserts = (e: QueryEvent) => {
        if (e.connection === 'dst' && /^insert into .?polyrecord_inbox/.test(e.sql)) inboxInserts += 1;
      };
      ConnectionManager.default.events.on('query', countInserts);
      cleanup.unshift(async () => void ConnectionManager.default.events.off('query', countInserts));
      await drainRelay(new OutboxRelay({ connection: 'src', publish: publisherFor(broker, names) }));
      await consumer.start();
      await waitFor(() => seen.applied === events, 'every event applied', 60_000);
      // Fewer inbox inserts than events: each record's several events were applied in one batch.
      expect(inboxInserts).toBeGreaterThan(0);
      expect(inboxInserts).toBeLessThan(events);
      await assertConverged(events, consumerName(broker, names), false);
    }, 120_000);

    it(`${broker}: partitions: each record's events go to one partition, one consumer per partition applies them once and in order`, async () => {
      const names = useNames();
      const events = await makeEvents(20);
      const partitions = 2;
      const publish = broker === 'nats' ? natsPublisher({ servers: NATS_URL, stream: names.stream, subject: names.subject, partitions }) : rabbitPublisher({ url: AMQP_URL, exchange: names.exchange, routingKey: names.subject, partitions });
      const consumers = Array.from({ length: partitions }, (_, p) => {
        const source = broker === 'nats'
          ? natsSource({ servers: NATS_URL, stream: names.stream, streamSubjects: [`${names.subject}.>`], durable: `${names.durable}_p${p}`, filter: `${names.subject}.*.${p}.>` })
          : rabbitSource({ url: AMQP_URL, queue: `${names.queue}.p${p}`, bindings: [{ exchange: names.exchange, pattern: `${names.subject}.*.${p}.#` }] });
        return new InboxConsumer({ connection: 'dst', name: 'partitioned', source, handlers: { Member: loggingHandler } });
      });
      const byPartition = consumers.map(() => new Set<string>());
      consumers.forEach((consumer, p) => consumer.events.on('applied', (event) => byPartition[p]!.add(event.key)));
      for (const consumer of consumers) {
        await consumer.start();
        cleanup.unshift(() => consumer.stop());
      }
      if (broker === 'rabbit') cleanup.push(() => removeBrokerNames({ ...names, queue: `${names.queue}.p0` }), () => removeBrokerNames({ ...names, queue: `${names.queue}.p1` }));
      await drainRelay(new OutboxRelay({ connection: 'src', batchSize: 30, publish }));
      await waitFor(async () => (await inboxDone('partitioned')) === events, 'every event applied', 60_000);
      await assertConverged(events, 'partitioned', true);
      // Both partitions were used, and no record's events were split between them.
      expect(byPartition.every((keys) => keys.size > 0)).toBe(true);
      expect([...byPartition[0]!].filter((key) => byPartition[1]!.has(key))).toEqual([]);
      for (const [p, keys] of byPartition.entries()) for (const key of keys) expect(partitionOf('Member', key, partitions)).toBe(p);
    }, 120_000);

    it(`${broker}: two relay processes SIGKILLed after random rounds, again and again: every event applied once, in order per record`, async () => {
      const names = useNames();
      const script = compileFixture('test/fixtures/broker-child.ts');
      const events = await makeEvents(25);
      const { seen } = await startConsumer(broker, names, { Member: loggingHandler });
      const spec = { role: 'relay', broker, src: configs[0], dst: configs[1], names, natsUrl: NATS_URL, amqpUrl: AMQP_URL };
      let kills = 0;
      for (let wave = 0; wave < 3; wave++) {
        const runs = await Promise.all([0, 1].map(() => runChild(script, { ...spec, killAfterAckRound: 1 + Math.floor(Math.random() * 3) })));
        for (const run of runs) expect(run.signal === 'SIGKILL' || run.code === 0, run.output).toBe(true);
        kills += runs.filter((run) => run.signal === 'SIGKILL').length;
        const leasedUntil = Number((await src()(OUTBOX_TABLE).where({ status: 'pending' }).max({ t: 'locked_until' }))[0]!.t ?? 0);
        await waitFor(() => Date.now() > leasedUntil, "the killed relays' leases to expire");
      }
      expect(kills).toBeGreaterThan(0);
      const clean = await runChild(script, spec);
      expect(clean.code, clean.output).toBe(0);
      await waitFor(async () => (await inboxDone(consumerName(broker, names))) === events, 'every event in the inbox', 60_000);
      await assertConverged(events, consumerName(broker, names), true);
      // 'applied' is emitted after the ack, a moment after the commit the inbox shows.
      await waitFor(() => seen.applied === events, "every event's applied notice");
    }, 180_000);
  }

  it.skipIf(!HAS_RABBITMQCTL)('rabbit: the broker closes the consumer\'s connection mid-stream: the source reconnects and every event is applied once, in order', async () => {
    const names = useNames();
    const events = await makeEvents(20);
    const slowHandler = async (event: InboxEvent, trx: Transaction) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await loggingHandler(event, trx);
    };
    // Small batches, so that the connection closes between commits and during a batch.
    const { seen } = await startConsumer('rabbit', names, { Member: slowHandler }, 5);
    await drainRelay(new OutboxRelay({ connection: 'src', publish: publisherFor('rabbit', names) }));
    await waitFor(async () => (await inboxDone(names.queue)) >= 5, 'the consumer under way');
    expect(closeRabbitConnections(names.queue)).toBe(1);
    expect(await inboxDone(names.queue)).toBeLessThan(events);
    await waitFor(async () => (await inboxDone(names.queue)) === events, 'every event applied after the reconnect', 90_000);
    await assertConverged(events, names.queue, true);
    await waitFor(() => seen.applied === events, "every event's applied notice");
  }, 120_000);

  it('nats: a batch that takes longer than the ack wait is not redelivered to the consumer still applying it', async () => {
    const names = useNames();
    const events = await makeEvents(1);
    const seen: string[] = [];
    // Each event takes 1.5 ack waits (ackWaitMs 1 000 in sourceFor): only the source's "working" signals keep JetStream from sending it again meanwhile.
    const slowHandler = async (event: InboxEvent, trx: Transaction) => {
      seen.push(event.id);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await loggingHandler(event, trx);
    };
    const { consumer, seen: counted } = await startConsumer('nats', names, { Member: slowHandler });
    await drainRelay(new OutboxRelay({ connection: 'src', publish: publisherFor('nats', names) }));
    await waitFor(() => counted.applied === events, 'every event applied', 60_000);
    // Give a redelivery time to arrive, had there been one.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await consumer.stop();
    expect(counted.duplicate).toBe(0);
    expect(new Set(seen).size).toBe(seen.length);
    await assertConverged(events, consumerName('nats', names), true);
  }, 120_000);

  it('nats: messages the durable had unacked come back in the order JetStream queued them; the consumer still applies them in stream order', async () => {
    const names = useNames();
    const events = await makeEvents(4);
    // The stream and the durable first, then every event published.
    const { consumer } = await startConsumer('nats', names, { Member: loggingHandler });
    await consumer.stop();
    await drainRelay(new OutboxRelay({ connection: 'src', publish: publisherFor('nats', names) }));
    // Another client of the durable takes every message and gives them back newest first:
    // JetStream queues them for redelivery in that order, as it does with ack waits running out.
    const nc = await natsConnect({ servers: NATS_URL });
    try {
      const durable = await jetstream(nc).consumers.get(names.stream, names.durable);
      const taken: JsMsg[] = [];
      for await (const m of await durable.fetch({ max_messages: events, expires: 5_000 })) taken.push(m);
      expect(taken.map((m) => m.info.streamSequence)).toEqual(Array.from({ length: events }, (_, i) => i + 1));
      for (const m of taken.reverse()) m.nak();
      await nc.flush();
    } finally {
      await nc.close();
    }
    const { seen } = await startConsumer('nats', names, { Member: loggingHandler });
    await waitFor(async () => (await inboxDone(names.durable)) === events, 'every event applied', 60_000);
    expect(seen.duplicate).toBe(0);
    await assertConverged(events, names.durable, true);
  }, 120_000);

  it('rabbit: a message no queue takes counts as failed and is retried, not lost', async () => {
    const names = useNames();
    const events = await makeEvents(5);
    const failures: unknown[] = [];
    const relay = new OutboxRelay({ connection: 'src', publish: publisherFor('rabbit', names), backoff: { baseMs: 1, maxMs: 1 } });
    cleanup.unshift(() => relay.stop());
    relay.events.on('failed', (_event, error) => failures.push(error));
    // One round claims the first event of each of the 5 records.
    expect(await relay.runOnce()).toEqual({ delivered: 0, failed: 5, dead: 0 });
    expect(failures).toHaveLength(5);
    expect(failures.every((error) => error instanceof BrokerPublishError && error.reason === 'unroutable')).toBe(true);
    expect(await count(src()(OUTBOX_TABLE).where({ status: 'pending' }).count({ n: '*' }))).toBe(events);
    const failed = await src()(OUTBOX_TABLE).where({ status: 'pending' }).where('attempts', 1).select('last_error');
    expect(failed).toHaveLength(5);
    expect(failed.every((row) => /no queue is bound/.test(String(row.last_error)))).toBe(true);
    // Once a queue is bound, the retries get through.
    const { seen } = await startConsumer('rabbit', names);
    await waitFor(async () => (await relay.runOnce()) && (await count(src()(OUTBOX_TABLE).whereNot({ status: 'done' }).count({ n: '*' }))) === 0, 'every event published');
    await waitFor(() => seen.applied === events, 'every event applied', 60_000);
    await assertConverged(events, names.queue, false);
  }, 120_000);

  it('a missing broker client package is a typed error naming the package', async () => {
    const names = useNames();
    const events = await makeEvents(2);
    replacePackageImporter(async (name) => {
      throw Object.assign(new Error(`Cannot find package '${name}'`), { code: 'ERR_MODULE_NOT_FOUND' });
    });
    cleanup.push(async () => replacePackageImporter());
    const failures: unknown[] = [];
    const relay = new OutboxRelay({ connection: 'src', publish: publisherFor('nats', names) });
    relay.events.on('failed', (_event, error) => failures.push(error));
    expect(await relay.runOnce()).toEqual({ delivered: 0, failed: 2, dead: 0 });
    expect(failures[0]).toBeInstanceOf(BrokerPackageMissingError);
    expect(failures[0]).toMatchObject({ code: 'E_BROKER_PACKAGE_MISSING', packageName: '@nats-io/transport-node', message: expect.stringContaining('npm install @nats-io/transport-node') });
    const consumer = new InboxConsumer({ connection: 'dst', source: sourceFor('rabbit', names) });
    await expect(consumer.start()).rejects.toMatchObject({ name: 'BrokerPackageMissingError', packageName: 'amqplib' });
    // Nothing was published, nothing is lost: the events wait in the outbox.
    expect(await count(src()(OUTBOX_TABLE).where({ status: 'pending' }).count({ n: '*' }))).toBe(events);
  }, 60_000);

  it('the message is the documented envelope, with the event id as message id and the model and key in the routing key', async () => {
    const names = useNames();
    await makeEvents(1);
    const [row] = await src()(OUTBOX_TABLE).orderBy('id').select('id', 'aggregate_key', 'created_at');
    const connection = await amqp.connect(AMQP_URL);
    cleanup.push(() => connection.close());
    const channel = await connection.createChannel();
    await channel.assertExchange(names.exchange, 'topic', { durable: true });
    await channel.assertQueue(names.queue, { durable: true });
    await channel.bindQueue(names.queue, names.exchange, '#');
    await drainRelay(new OutboxRelay({ connection: 'src', publish: rabbitPublisher({ url: AMQP_URL, exchange: names.exchange, routingKey: 'shop.events', source: 'primary' }) }));
    const message = await channel.get(names.queue);
    expect(message).not.toBe(false);
    if (message === false) return;
    const body = JSON.parse(message.content.toString('utf8'));
    expect(body).toEqual({
      id: `primary:${row!.id}`,
      model: 'Member',
      key: String(row!.aggregate_key),
      kind: 'created',
      payload: { id: Number(row!.aggregate_key), email: 'm0@b.io', visits: 0, updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) },
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      schemaVersion: 1,
    });
    expect(message.fields.routingKey).toBe(`shop.events.Member.${row!.aggregate_key}`);
    expect(message.properties).toMatchObject({ messageId: `primary:${row!.id}`, deliveryMode: 2, contentType: 'application/json', type: 'created' });
  }, 60_000);

  it('batchSize must be a whole number from 1 to 1,000 (ConfigError naming it)', () => {
    const names = brokerNames();
    for (const batchSize of [0, 1.5, 1_001]) expect(() => new InboxConsumer({ connection: 'dst', source: sourceFor('rabbit', names), batchSize })).toThrow(expect.objectContaining({ name: 'ConfigError', field: 'batchSize' }));
    expect(() => new InboxConsumer({ connection: 'dst', source: sourceFor('rabbit', names), batchSize: 1_000 })).not.toThrow();
  });

  it('a model has a handler or a batch handler, not both; each must be a function (ConfigError naming the option)', () => {
    const source = sourceFor('rabbit', brokerNames());
    const handler = () => undefined;
    expect(() => new InboxConsumer({ connection: 'dst', source, handlers: { Member: handler }, batchHandlers: { Member: handler } })).toThrow(expect.objectContaining({ name: 'ConfigError', field: 'batchHandlers', message: expect.stringContaining('Member has a handler and a batch handler') }));
    expect(() => new InboxConsumer({ connection: 'dst', source, batchHandlers: { Member: 'copy' as never } })).toThrow(expect.objectContaining({ name: 'ConfigError', field: 'batchHandlers' }));
    expect(() => new InboxConsumer({ connection: 'dst', source, handlers: { Member: handler }, batchHandlers: { Other: handler } })).not.toThrow();
  });

  it('prune() deletes done inbox rows older than retentionMs and keeps dead ones and recent ones', async () => {
    const names = useNames();
    await dst()(INBOX_TABLE).delete();
    const now = Date.now();
    const row = (id: string, status: string, age: number) => ({ consumer: names.queue, event_id: id, model: 'Member', event_key: id, status, attempts: 1, processed_at: now - age });
    await dst()(INBOX_TABLE).insert([row('1', 'done', 3_600_000), row('2', 'done', 10_000), row('3', 'dead', 3_600_000), { ...row('4', 'done', 3_600_000), consumer: 'someone-else' }]);
    const consumer = new InboxConsumer({ connection: 'dst', source: sourceFor('rabbit', names), retentionMs: 60_000 });
    expect(await consumer.prune()).toBe(1);
    expect((await dst()(INBOX_TABLE).orderBy('event_id').select('event_id')).map((r) => String(r.event_id))).toEqual(['2', '3', '4']);
  });

  it('no password in what a failed broker connection reports', async () => {
    const names = useNames();
    await makeEvents(1);
    const secret = 'not-the-guest-password-9431';
    const failures: unknown[] = [];
    const relay = new OutboxRelay({ connection: 'src', publish: rabbitPublisher({ url: Object.assign(new URL(AMQP_URL), { password: secret }).toString(), exchange: names.exchange, routingKey: names.subject }) });
    relay.events.on('failed', (_event, error) => failures.push(error));
    expect((await relay.runOnce()).failed).toBe(1);
    await relay.stop();
    const reported = `${String(failures[0])} ${(failures[0] as Error).stack} ${JSON.stringify(await src()(OUTBOX_TABLE).select('last_error'))}`;
    expect(reported).toMatch(/ACCESS.REFUSED/);
    expect(reported).not.toContain(secret);
  });
});
