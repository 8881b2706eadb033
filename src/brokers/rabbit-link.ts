import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { importOptional } from './optional-package.js';

type AmqpModule = typeof import('amqplib');

/** An open RabbitMQ connection with one confirm channel; `closed` settles when either goes away. */
export interface RabbitLink {
  readonly connection: ChannelModel;
  readonly channel: ConfirmChannel;
  /** Resolves when the connection or the channel closed (for any reason). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** Loads amqplib (an optional peer dependency), connects and opens a confirm channel. */
export async function openRabbit(url: string, usedBy: string): Promise<RabbitLink> {
  const loaded = await importOptional<AmqpModule>('amqplib', usedBy);
  const amqp = ((loaded as { default?: AmqpModule }).default ?? loaded) as AmqpModule;
  const connection = await amqp.connect(url);
  let channel: ConfirmChannel;
  try {
    channel = await connection.createConfirmChannel();
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
  const closed = new Promise<void>((resolve) => {
    connection.once('close', () => resolve());
    channel.once('close', () => resolve());
  });
  // Without listeners an 'error' event would crash the process; the error also closes what it belongs to, which `closed` reports.
  connection.on('error', () => undefined);
  channel.on('error', () => undefined);
  return {
    connection,
    channel,
    closed,
    async close() {
      await connection.close().catch(() => undefined);
    },
  };
}
