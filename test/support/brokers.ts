import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import amqp from 'amqplib';

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
