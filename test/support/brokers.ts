import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import amqp from 'amqplib';
import { expect } from 'vitest';
import { ConnectionManager, natsPublisher, natsSource, rabbitPublisher, rabbitSource, type InboxEvent, type InboxSource, type OutboxPublisher, type Transaction } from '../../src/index.js';
import { Member, MemberCopy } from './sync-models.js';

/** The brokers of this run (both needed by the broker suites, which are skipped without them). */
export const NATS_URL = process.env.POLYRECORD_NATS_URL ?? '';
export const AMQP_URL = process.env.POLYRECORD_AMQP_URL ?? '';
export const BROKERS_AVAILABLE = NATS_URL !== '' && AMQP_URL !== '';

/** Broker names unique to one test, so parallel test files never share a stream, exchange or queue. */
export function brokerNames() {
  const tag = `prbrk_${process.pid}_${randomBytes(3).toString('hex')}`;
  return { stream: tag.toUpperCase(), subject: tag, durable: `${tag}_c`, exchange: `${tag}.x`, queue: `${tag}.q` };
}
export type BrokerNames = ReturnType<typeof brokerNames>;

/** How many messages a JetStream stream stores. */
export async function streamMessages(stream: string): Promise<number> {
  const nc = await natsConnect({ servers: NATS_URL });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

/** Messages waiting in a RabbitMQ queue. */
export async function queueMessages(queue: string): Promise<number> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    return (await (await connection.createChannel()).checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

/** Removes what a test created on both brokers (missing things are fine). */
export async function removeBrokerNames(names: BrokerNames): Promise<void> {
  const nc = await natsConnect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  for (const stream of [names.stream, `${names.stream}_DEAD`]) await jsm.streams.delete(stream).catch(() => undefined);
  await nc.close();
  const connection = await amqp.connect(AMQP_URL);
  for (const queue of [names.queue, `${names.queue}.dead`]) {
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue).catch(() => undefined);
  }
  const channel = await connection.createChannel();
  await channel.deleteExchange(names.exchange).catch(() => undefined);
  await connection.close().catch(() => undefined);
}

/** Whether `rabbitmqctl` can be run here (it is on the broker's machine). */
export const HAS_RABBITMQCTL = (() => {
  try {
    execFileSync('rabbitmqctl', ['status', '-q'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
})();

/** Closes, on the broker's side, the RabbitMQ connections whose name contains `part`; resolves with how many. */
export function closeRabbitConnections(part: string): number {
  const listing = execFileSync('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q'], { encoding: 'utf8', timeout: 30_000 });
  const pids = listing.split('\n').filter((line) => line.includes(part)).map((line) => line.split('\t')[0]!);
  for (const pid of pids) execFileSync('rabbitmqctl', ['close_connection', pid, 'closed by a polyrecord test'], { stdio: 'ignore', timeout: 30_000 });
  return pids.length;
}

/** An inbox handler for `Member` events: logs the event in `deliveries` inside the inbox transaction, then copies (or deletes) the member on `dst`. */
export async function logAndCopyMember(event: InboxEvent, trx: Transaction): Promise<void> {
  await trx.table('deliveries').insert({ event_id: Number(event.id), member_key: event.key });
  const member = event.record<Member>();
  if (event.kind === 'destroyed') await MemberCopy.using('dst').where({ memberId: member.id }).delete();
  else await MemberCopy.using('dst').bulkInsertOrUpdate([{ memberId: member.id, email: member.email, visits: member.visits }], { conflictKeys: ['memberId'] });
}

/** The `deliveries` log holds every one of `events` exactly once, each member's events in the order they were written. */
export async function expectDeliveredOnceInOrder(events: number): Promise<void> {
  const log = await ConnectionManager.get('dst').knex('deliveries').orderBy('id').select('event_id', 'member_key');
  expect(log.length).toBe(events);
  expect(new Set(log.map((d) => Number(d.event_id))).size).toBe(events);
  const lastByKey = new Map<string, number>();
  for (const { event_id, member_key } of log) {
    expect(Number(event_id), `member ${member_key}: event ${event_id} applied after ${lastByKey.get(member_key)}`).toBeGreaterThan(lastByKey.get(member_key) ?? 0);
    lastByKey.set(member_key, Number(event_id));
  }
}

export type Broker = 'nats' | 'rabbit';

/** The outbox publisher of a test's names on one broker. */
export const publisherFor = (broker: Broker, names: BrokerNames): OutboxPublisher =>
  broker === 'nats' ? natsPublisher({ servers: NATS_URL, stream: names.stream, subject: names.subject }) : rabbitPublisher({ url: AMQP_URL, exchange: names.exchange, routingKey: names.subject });

/** The inbox source that reads what {@link publisherFor} publishes; `maxAckPending` (NATS) sets the durable's window, 100 by default. */
export const sourceFor = (broker: Broker, names: BrokerNames, maxAckPending?: number): InboxSource =>
  broker === 'nats' ? natsSource({ servers: NATS_URL, stream: names.stream, streamSubjects: [`${names.subject}.>`], durable: names.durable, ackWaitMs: 1_000, maxAckPending }) : rabbitSource({ url: AMQP_URL, queue: names.queue, bindings: [{ exchange: names.exchange, pattern: `${names.subject}.#` }] });
