import { randomBytes } from 'node:crypto';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import amqp from 'amqplib';

export const NATS_URL = 'nats://127.0.0.1:4222';
export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

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
