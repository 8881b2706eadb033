import { execSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectionManager,
  ensureInboxTable,
  ensureOutboxTable,
  INBOX_TABLE,
  InboxConsumer,
  natsPublisher,
  natsSource,
  OUTBOX_TABLE,
  OutboxRelay,
  rabbitPublisher,
  rabbitSource,
  type InboxEvent,
  type Transaction,
} from '../src/index.js';
import { AMQP_URL, BROKERS_AVAILABLE, brokerNames, NATS_URL, removeBrokerNames, type BrokerNames } from './support/brokers.js';
import { DIALECTS } from './support/dialects.js';
import { createMemberTables, Member, MemberCopy } from './support/sync-models.js';
import { waitFor } from './support/wait.js';

// The commands that restart each broker (.ci/run sets them); without them this suite is skipped.
// A serial suite: it runs alone, after every other file, because a restart cuts off every client.
const RESTART = { nats: process.env.POLYRECORD_NATS_RESTART, rabbit: process.env.POLYRECORD_RABBIT_RESTART };
const needs = [
  ...(BROKERS_AVAILABLE ? [] : ['POLYRECORD_NATS_URL and POLYRECORD_AMQP_URL']),
  ...(RESTART.nats ? [] : ['POLYRECORD_NATS_RESTART']),
  ...(RESTART.rabbit ? [] : ['POLYRECORD_RABBIT_RESTART']),
];
const sqlite = DIALECTS.find((d) => d.driver === 'sqlite')!;
type Broker = keyof typeof RESTART;

describe.skipIf(needs.length > 0)(`a broker restarted while events flow${needs.length > 0 ? ` (needs ${needs.join(', ')})` : ''}`, () => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await sqlite.provision(2);
    drop = provisioned.drop;
    ConnectionManager.configure('src', provisioned.configs[0]!);
    ConnectionManager.configure('dst', provisioned.configs[1]!);
    await createMemberTables(ConnectionManager.get('src').knex, ConnectionManager.get('dst').knex);
    await ConnectionManager.get('dst').knex.schema.createTable('deliveries', (t) => {
      t.increments('id');
      t.bigInteger('event_id');
      t.string('member_key', 32);
    });
    await ensureOutboxTable('src');
    await ensureInboxTable('dst');
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  const src = () => ConnectionManager.get('src').knex;
  const dst = () => ConnectionManager.get('dst').knex;
  const count = async (query: Promise<Array<Record<string, unknown>>>) => Number((await query)[0]!.n);

  /** Logs each applied event in the inbox transaction, then copies the member. */
  const handler = async (event: InboxEvent, trx: Transaction) => {
    await trx.table('deliveries').insert({ event_id: Number(event.id), member_key: event.key });
    const member = event.record<Member>();
    await MemberCopy.using('dst').bulkInsertOrUpdate([{ memberId: member.id, email: member.email, visits: member.visits }], { conflictKeys: ['memberId'] });
  };

  const wiring = (broker: Broker, names: BrokerNames) =>
    broker === 'nats'
      ? {
          publish: natsPublisher({ servers: NATS_URL, stream: names.stream, subject: names.subject }),
          source: natsSource({ servers: NATS_URL, stream: names.stream, streamSubjects: [`${names.subject}.>`], durable: names.durable, ackWaitMs: 1_000 }),
        }
      : {
          publish: rabbitPublisher({ url: AMQP_URL, exchange: names.exchange, routingKey: names.subject }),
          source: rabbitSource({ url: AMQP_URL, queue: names.queue, bindings: [{ exchange: names.exchange, pattern: `${names.subject}.#` }] }),
        };

  for (const broker of ['nats', 'rabbit'] as const) {
    it(`${broker}: the relay and the consumer carry on after the broker restarts; every event applied once, in order per record`, async () => {
      for (const table of ['member_copies', 'deliveries', INBOX_TABLE]) await dst()(table).delete();
      for (const table of ['members', OUTBOX_TABLE]) await src()(table).delete();
      const names = brokerNames();
      const { publish, source } = wiring(broker, names);
      // Attempts enough to outlast the restart: a publish refused while the broker is down is retried, never dead.
      const relay = new OutboxRelay({ connection: 'src', batchSize: 20, pollIntervalMs: 20, maxAttempts: 1_000, backoff: { baseMs: 50, maxMs: 500 }, publish });
      const consumer = new InboxConsumer({ connection: 'dst', source, handlers: { Member: handler }, backoff: { baseMs: 10, maxMs: 100 } });
      const applied = { count: 0 };
      consumer.events.on('applied', () => (applied.count += 1));
      try {
        // RabbitMQ drops what no queue takes: the consumer binds its queue first.
        await consumer.start();
        relay.start();

        // Events keep being written before, during and after the restart.
        const members: Member[] = [];
        const write = async (rounds: number) => {
          for (let round = 0; round < rounds; round++) {
            if (members.length < 30) members.push(await Member.create({ email: `r${members.length}@b.io`, visits: 0 }));
            for (const member of members.slice(-5)) {
              member.visits += 1;
              await member.save();
            }
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        };
        await write(10);
        await waitFor(() => applied.count > 0, 'some events applied before the restart', 30_000);
        const writing = write(20);
        execSync(RESTART[broker]!, { stdio: 'ignore', timeout: 120_000 });
        await writing;
        await write(10);

        const events = await count(src()(OUTBOX_TABLE).count({ n: '*' }));
        await waitFor(async () => (await count(src()(OUTBOX_TABLE).whereNot({ status: 'done' }).count({ n: '*' }))) === 0, 'every event published after the restart', 90_000);
        await waitFor(async () => (await count(dst()(INBOX_TABLE).where({ status: 'done' }).count({ n: '*' }))) === events, 'every event applied after the restart', 90_000);

        const expected = (await src()('members').orderBy('id').select('id', 'email', 'visits')).map((m) => ({ member_id: m.id, email: m.email, visits: m.visits }));
        expect(await dst()('member_copies').orderBy('member_id').select('member_id', 'email', 'visits')).toEqual(expected);
        const log = await dst()('deliveries').orderBy('id').select('event_id', 'member_key');
        expect(log.length).toBe(events);
        expect(new Set(log.map((d) => Number(d.event_id))).size).toBe(events);
        const lastByKey = new Map<string, number>();
        for (const { event_id, member_key } of log) {
          expect(Number(event_id), `member ${member_key}: event ${event_id} applied after ${lastByKey.get(member_key)}`).toBeGreaterThan(lastByKey.get(member_key) ?? 0);
          lastByKey.set(member_key, Number(event_id));
        }
      } finally {
        await relay.stop();
        await consumer.stop();
        await removeBrokerNames(names);
      }
    }, 300_000);
  }
});
