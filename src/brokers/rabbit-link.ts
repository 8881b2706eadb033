import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { importOptional } from './optional-package.js';

type AmqpModule = typeof import('amqplib');

/** An open RabbitMQ connection with one confirm channel; `closed` settles when either goes away. */
export interface RabbitLink {
  readonly connection: ChannelModel;
  readonly channel: ConfirmChannel;
  /** Resolves when the connection or the channel closed (for any reason). */
  readonly closed: Promise<void>;
  /** Whether `closed` has resolved. */
  readonly isClosed: boolean;
  close(): Promise<void>;
}

/** Loads amqplib (an optional peer dependency), connects and opens a confirm channel. */
export async function openRabbit(url: string, usedBy: string, name: string): Promise<RabbitLink> {
  const loaded = await importOptional<AmqpModule>('amqplib', usedBy);
  const amqp = ((loaded as { default?: AmqpModule }).default ?? loaded) as AmqpModule;
  // The connection's name shows in RabbitMQ's tools (rabbitmqctl list_connections, the management UI).
  const connection = await amqp.connect(url, { clientProperties: { connection_name: `polyrecord ${usedBy} ${name}` } });
  let channel: ConfirmChannel;
  try {
    channel = await connection.createConfirmChannel();
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
  let isClosed = false;
  const closed = new Promise<void>((resolve) => {
    const done = () => {
      isClosed = true;
      resolve();
    };
    connection.once('close', done);
    channel.once('close', done);
  });
  // Without listeners an 'error' event would crash the process; the error also closes what it belongs to, which `closed` reports.
  connection.on('error', () => undefined);
  channel.on('error', () => undefined);
  return {
    connection,
    channel,
    closed,
    get isClosed() {
      return isClosed;
    },
    async close() {
      await connection.close().catch(() => undefined);
    },
  };
}
