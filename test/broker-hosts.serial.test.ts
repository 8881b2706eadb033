import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionManager, ensureInboxTable, INBOX_TABLE, InboxConsumer, OUTBOX_TABLE, type ConnectionConfig } from '../src/index.js';
import { AMQP_URL, BROKERS_AVAILABLE, brokerNames, expectDeliveredOnceInOrder, NATS_URL, removeBrokerNames, sourceFor, type Broker, type BrokerNames } from './support/brokers.js';
import { compileFixture } from './support/compile-fixture.js';
import { createNetHosts, NET_HOSTS_UNAVAILABLE, type NetHost } from './support/net-hosts.js';
import { RespawningChild } from './support/respawning-child.js';
import { SERVER_PAIRS } from './support/server-pairs.js';
import { countOf, Member, pairSource, pairTarget, setUpMemberPair } from './support/sync-models.js';
import { waitFor } from './support/wait.js';

// Relays and a consumer on separate hosts: each in a network namespace of its own that reaches
// PostgreSQL (the outbox), MariaDB (the inbox and copies) and the broker only through its link
// (test/support/net-hosts.ts). Serial: it runs many processes, and it cuts a host's link.
const pgMaria = SERVER_PAIRS.find((pair) => pair.key === 'pg-maria');
const needs = [
  ...(BROKERS_AVAILABLE ? [] : ['POLYRECORD_NATS_URL and POLYRECORD_AMQP_URL']),
  ...(pgMaria ? [] : ['POLYRECORD_PG_URL and POLYRECORD_MYSQL_URL']),
  ...(NET_HOSTS_UNAVAILABLE ? [`network namespaces: ${NET_HOSTS_UNAVAILABLE}`] : []),
];
// CI runs as root on Linux: there a missing namespace is a broken machine, not a reason to skip.
if (process.env.CI === 'true' && NET_HOSTS_UNAVAILABLE) throw new Error(`CI requires network namespaces for the relay hosts test: ${NET_HOSTS_UNAVAILABLE}`);

const urlOf = (config: ConnectionConfig) => (config as { url: string }).url;

describe.skipIf(needs.length > 0)(`relays and a consumer on separate hosts (network namespaces)${needs.length > 0 ? ` (needs ${needs.join(', ')})` : ''}`, () => {
  let drop: () => Promise<void>;
  let configs: ConnectionConfig[];
  let script: string;
  let net: Awaited<ReturnType<typeof createNetHosts>> | undefined;

  beforeAll(async () => {
    ({ configs, drop } = await setUpMemberPair({ driver: 'postgresql', provision: async () => {
      const { left, right, drop: dropPair } = await pgMaria!.provision();
      return { configs: [left, right], drop: dropPair };
    } }));
    await ensureInboxTable('dst');
    script = compileFixture('test/fixtures/broker-child.ts');
    net = await createNetHosts(3, [...configs.map(urlOf), NATS_URL, AMQP_URL]);
  });
  afterAll(async () => {
    await net?.remove();
    await ConnectionManager.closeAll();
    await drop();
  });

  const [src, dst, count] = [pairSource, pairTarget, countOf];

  /** What broker-child.ts needs to run in `host`: every URL through that host's link. */
  function childEnv(host: NetHost, broker: Broker, names: BrokerNames, spec: object): NodeJS.ProcessEnv {
    const [srcConfig, dstConfig] = configs.map((config) => ({ ...config, url: host.url(urlOf(config)) }));
    const base = { broker, src: srcConfig, dst: dstConfig, names, natsUrl: host.url(NATS_URL), amqpUrl: host.url(AMQP_URL) };
    return { ...process.env, BROKER_CHILD: JSON.stringify({ ...base, ...spec }) };
  }

  for (const broker of ['nats', 'rabbit'] as const) {
    it(`${broker}: relays on two hosts SIGKILLed again and again, a consumer on a third SIGKILLed mid-transaction, a relay host cut off while it holds claimed events: every event applied once, in order per record`, async () => {
      const names = brokerNames();
      const consumerName = broker === 'nats' ? names.durable : names.queue;
      const [relayHosts, consumerHost] = [net!.hosts.slice(0, 2), net!.hosts[2]!];
      const outboxRows = () => count(src()(OUTBOX_TABLE).count({ n: '*' }));
      const inboxDone = () => count(dst()(INBOX_TABLE).where({ consumer: consumerName, status: 'done' }).count({ n: '*' }));
      for (const table of ['member_copies', 'deliveries', INBOX_TABLE]) await dst()(table).delete();
      for (const table of ['members', OUTBOX_TABLE]) await src()(table).delete();
      // The topology first (RabbitMQ drops what no queue takes); the consumer process comes later.
      const topology = new InboxConsumer({ connection: 'dst', source: sourceFor(broker, names) });
      await topology.start();
      await topology.stop();

      const children: RespawningChild[] = [];
      let writing = true;
      let writer: Promise<void> = Promise.resolve();
      try {
        // One relay per host, restarted in its host whenever it exits; each run SIGKILLs itself after 1-4 rounds
        // (after the broker's acks, before its done marks), except the one run on host 0 that is held for the cut.
        let holdNext = false;
        const relays = relayHosts.map((host, h) => new RespawningChild(() => {
          const hold = h === 0 && holdNext;
          return host.spawnNode(script, childEnv(host, broker, names, hold ? { role: 'relay', holdAtRound: 2, leaseMs: 3_000 } : { role: 'relay', killAfterAckRound: 1 + Math.floor(Math.random() * 4) }));
        }));
        children.push(...relays);

        // Events keep being written for several records before, during and after the cut.
        const members: Member[] = [];
        writer = (async () => {
          for (let round = 0; writing && round < 600; round++) {
            if (members.length < 10) members.push(await Member.create({ email: `h${round}@b.io`, visits: 0 }));
            for (const member of members.slice(-2)) {
              member.visits += 1;
              await member.save();
            }
            if (round % 12 === 11) await members.shift()!.destroy();
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        })();

        // The consumer SIGKILLs itself inside the transaction of the 30th event (once: a marker remembers it).
        await waitFor(async () => (await outboxRows()) >= 30, 'the writer under way');
        const killAtEvent = String((await src()(OUTBOX_TABLE).orderBy('id').offset(29).first('id'))!.id);
        const marker = join(mkdtempSync(join(tmpdir(), 'polyrecord-hosts-')), 'killed');
        const consumer = new RespawningChild(() => consumerHost.spawnNode(script, childEnv(consumerHost, broker, names, { role: 'consumer', killAtEvent, marker })));
        children.push(consumer);
        await waitFor(async () => (await inboxDone()) >= 10, 'the consumer under way', 60_000);

        // The host-level failure: host 0's relay has claimed a round (a 3 s lease) and its link goes down.
        holdNext = true;
        const held = await relays[0]!.waitForLine(/^holding (\S+) ([\d,]+)$/, 'a relay on host 0 holding claimed events');
        holdNext = false;
        const [heldBy, ids] = [held.match[1]!, held.match[2]!.split(',')];
        const heldRows = () => src()(OUTBOX_TABLE).whereIn('id', ids).select('id', 'status', 'locked_by', 'attempts');
        relayHosts[0]!.cut();
        expect(await heldRows()).toEqual(ids.map(() => expect.objectContaining({ status: 'pending', locked_by: heldBy })));
        // Cut off, it goes on: its publish and its done marks wait on connections that carry nothing.
        held.child.kill('SIGUSR2');
        // Its lease runs out and the relay on host 1 takes the events over and delivers them, while host 0 is still cut off.
        await waitFor(async () => (await heldRows()).every((row) => row.status === 'done' && row.locked_by !== heldBy), 'the other host to deliver the events the cut-off relay claimed', 60_000);
        relayHosts[0]!.restore();
        const written = await outboxRows();
        await waitFor(async () => (await outboxRows()) >= written + 15, 'events written after the link came back');
        writing = false;
        await writer;
        // Back on the network, the held relay finishes its round (a late publish: a duplicate the broker or the inbox
        // drops; done or failed marks that match nothing, the claim being someone else's) and drains the outbox.
        const heldRun = await relays[0]!.runOf(held.child, 'the cut-off relay to carry on and drain after its link came back', 90_000);
        expect(heldRun.code, heldRun.output).toBe(0);
        const after = await heldRows();
        expect(after.every((row) => row.status === 'done' && row.locked_by !== heldBy && Number(row.attempts) >= 2), JSON.stringify(after)).toBe(true);

        const events = await outboxRows();
        await waitFor(async () => (await count(src()(OUTBOX_TABLE).whereNot({ status: 'done' }).count({ n: '*' }))) === 0, 'every event published', 90_000);
        await waitFor(async () => (await inboxDone()) === events, 'every event applied', 90_000);
        for (const child of children) await child.stop();

        // Every relay run ended by its own SIGKILL or drained the outbox and exited; each host's relay was killed.
        for (const relay of relays) {
          const runs = relay.runs.filter((run) => !run.stopped);
          for (const run of runs) expect(run.signal === 'SIGKILL' || run.code === 0, run.output).toBe(true);
          expect(runs.filter((run) => run.signal === 'SIGKILL').length).toBeGreaterThan(0);
        }
        // The consumer died inside a transaction and was restarted; it never exited otherwise.
        expect(existsSync(marker)).toBe(true);
        expect(consumer.runs.filter((run) => !run.stopped).map((run) => run.signal)).toEqual(expect.arrayContaining(['SIGKILL']));
        expect(consumer.runs.every((run) => run.signal === 'SIGKILL'), consumer.runs.map((run) => run.output).join('\n')).toBe(true);

        // Source and target agree: the copies equal the members; each event applied once, in order per record.
        const expected = (await src()('members').orderBy('id').select('id', 'email', 'visits')).map((m) => ({ member_id: m.id, email: m.email, visits: m.visits }));
        expect(await dst()('member_copies').orderBy('member_id').select('member_id', 'email', 'visits')).toEqual(expected);
        await expectDeliveredOnceInOrder(events);
      } finally {
        writing = false;
        await writer.catch(() => undefined);
        relayHosts[0]!.restore();
        for (const child of children) await child.stop();
        await removeBrokerNames(names);
      }
    }, 240_000);
  }
});
