import { execSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectionManager,
  ensureInboxTable,
  INBOX_TABLE,
  InboxConsumer,
  OUTBOX_TABLE,
  OutboxRelay,
} from '../src/index.js';
import { BROKERS_AVAILABLE, brokerNames, expectDeliveredOnceInOrder, logAndCopyMember, publisherFor, removeBrokerNames, sourceFor } from './support/brokers.js';
import { DIALECTS } from './support/dialects.js';
import { countOf, Member, pairSource, pairTarget, setUpMemberPair } from './support/sync-models.js';
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

describe.skipIf(needs.length > 0)(`a broker restarted while events flow${needs.length > 0 ? ` (needs ${needs.join(', ')})` : ''}`, () => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ drop } = await setUpMemberPair(sqlite));
    await ensureInboxTable('dst');
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  const [src, dst, count] = [pairSource, pairTarget, countOf];


  for (const broker of ['nats', 'rabbit'] as const) {
    it(`${broker}: the relay and the consumer carry on after the broker restarts; every event applied once, in order per record`, async () => {
      for (const table of ['member_copies', 'deliveries', INBOX_TABLE]) await dst()(table).delete();
      for (const table of ['members', OUTBOX_TABLE]) await src()(table).delete();
      const names = brokerNames();
      const [publish, source] = [publisherFor(broker, names), sourceFor(broker, names)];
      // Attempts enough to outlast the restart: a publish refused while the broker is down is retried, never dead.
      const relay = new OutboxRelay({ connection: 'src', batchSize: 20, pollIntervalMs: 20, maxAttempts: 1_000, backoff: { baseMs: 50, maxMs: 500 }, publish });
      const consumer = new InboxConsumer({ connection: 'dst', source, handlers: { Member: logAndCopyMember }, backoff: { baseMs: 10, maxMs: 100 } });
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
        await expectDeliveredOnceInOrder(events);
      } finally {
        await relay.stop();
        await consumer.stop();
        await removeBrokerNames(names);
      }
    }, 300_000);
  }
});
