import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumeMessage } from 'amqplib';
import { ConfigError } from '../errors.js';
import { DeliveryQueue } from './delivery-queue.js';
import type { InboxMessage, InboxSource } from './inbox-source.js';
import { RabbitAcks } from './rabbit-acks.js';
import { openRabbit, type RabbitLink } from './rabbit-link.js';

/** Options of {@link rabbitSource}. */
export interface RabbitSourceOptions {
  /** AMQP URL, e.g. `'amqp://guest:guest@127.0.0.1:5672'`. */
  url: string;
  /** The queue to consume. Asserted durable, with single active consumer, unless `assertQueue: false`. */
  queue: string;
  /** Bindings made on connect, e.g. `[{ exchange: 'outbox', pattern: 'orders.#' }]` or one partition: `'orders.*.3.#'`. */
  bindings?: ReadonlyArray<{ exchange: string; pattern: string }>;
  /**
   * Assert the queue on connect: durable, `x-single-active-consumer`, and a version-2 classic
   * queue (`x-queue-version: 2`, which costs RabbitMQ 3.10–3.12 about a third less CPU per
   * message; the default from 3.13). A queue that exists without the version argument is used
   * as it is. Default true; turn off for a queue declared elsewhere.
   */
  assertQueue?: boolean;
  /** Where dead messages are copied to. Default `<queue>.dead` (asserted durable). */
  deadLetterQueue?: string;
  /**
   * Unacked messages the broker sends ahead (the channel's prefetch). Default 100. It bounds the
   * consumer's batches: give at least the consumer's `batchSize`.
   */
  prefetch?: number;
}

/**
 * Reads a RabbitMQ queue for an {@link InboxConsumer}. The queue is declared with
 * `x-single-active-consumer`, so with several consumer processes one receives at a time and
 * the others take over when it goes: per-key order holds (use one queue per partition for
 * parallelism). The messages that arrived while the consumer was busy are handed over
 * together (up to `prefetch`); acks are sent after the inbox transaction committed, a batch's
 * acks as one frame where they are consecutive. Needs the
 * `amqplib` package.
 *
 * @example
 * ```ts
 * rabbitSource({ url: 'amqp://guest:guest@127.0.0.1:5672', queue: 'analytics.orders', bindings: [{ exchange: 'outbox', pattern: 'orders.#' }] })
 * ```
 */
export function rabbitSource(options: RabbitSourceOptions): InboxSource {
  if (!options || typeof options.url !== 'string' || options.url === '') throw new ConfigError('url', 'rabbitSource needs the AMQP URL');
  if (typeof options.queue !== 'string' || options.queue === '') throw new ConfigError('queue', 'rabbitSource needs a queue');
  const deadQueue = options.deadLetterQueue ?? `${options.queue}.dead`;
  let link: RabbitLink | undefined;
  let consumerTag: string | undefined;
  // Messages are handed over in delivery order, one batch after another.
  let queue: DeliveryQueue | undefined;
  const wrap = (opened: RabbitLink, acks: RabbitAcks, m: ConsumeMessage): InboxMessage => {
    const { channel } = opened;
    acks.delivered(m);
    const count = Number(m.properties.headers?.['x-delivery-count']);
    return {
      body: m.content,
      get gone() {
        return opened.isClosed;
      },
      // Quorum queues count redeliveries; classic queues only flag them.
      deliveries: Number.isFinite(count) ? count + 1 : m.fields.redelivered ? 2 : 1,
      ack: () => acks.ack(m),
      release: async () => acks.release(m),
      working: () => undefined,
      deadLetter: async (reason) => {
        await new Promise<void>((resolve, reject) => {
          const headers = { ...(m.properties.headers ?? {}), 'x-polyrecord-dead-reason': reason.slice(0, 1000), 'x-polyrecord-routing-key': m.fields.routingKey, 'x-polyrecord-exchange': m.fields.exchange };
          channel.sendToQueue(deadQueue, m.content, { persistent: true, messageId: m.properties.messageId, contentType: m.properties.contentType, headers }, (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()));
        });
        await acks.ack(m);
      },
    };
  };
  let closing = false;
  const reopen = () => openRabbit(options.url, 'rabbitSource', options.queue);
  const connect = async (deliveries: DeliveryQueue) => {
    let opened = await reopen();
    try {
      if (options.assertQueue !== false) opened = await declareQueue(opened, options.queue, reopen);
      const { channel } = opened;
      await channel.assertQueue(deadQueue, { durable: true });
      for (const { exchange, pattern } of options.bindings ?? []) {
        await channel.assertExchange(exchange, 'topic', { durable: true });
        await channel.bindQueue(options.queue, exchange, pattern);
      }
      await channel.prefetch(options.prefetch ?? 100);
      const acks = new RabbitAcks(channel);
      const reply = await channel.consume(options.queue, (m) => {
        if (m) deliveries.push(wrap(opened, acks, m));
      });
      consumerTag = reply.consumerTag;
    } catch (error) {
      await opened.close();
      throw error;
    }
    if (closing) {
      // close() ran while this connection was being opened.
      await opened.close();
      return;
    }
    link = opened;
    // A connection lost to the broker (a restart, a network cut, a forced close) is opened again;
    // its unacked messages went back to the queue and come again on the new one.
    void opened.closed.then(() => {
      if (!closing && link === opened) void reconnect(deliveries);
    });
  };
  const reconnect = async (deliveries: DeliveryQueue) => {
    for (let attempt = 1; !closing; attempt++) {
      await sleep(Math.min(30_000, 250 * 2 ** (attempt - 1)));
      if (closing) return;
      try {
        await connect(deliveries);
        return;
      } catch {
        // The broker is still away: try again later.
      }
    }
  };
  return {
    name: options.queue,
    async open(handle) {
      closing = false;
      queue = new DeliveryQueue(handle);
      await connect(queue);
    },
    async close() {
      closing = true;
      const current = link;
      link = undefined;
      if (!current) return;
      if (consumerTag) await current.channel.cancel(consumerTag).catch(() => undefined);
      // The consumer gives back what it did not start (it is stopping).
      await queue?.idle();
      // Closing gives unacked messages back to the queue.
      await current.close();
    },
  };
}

const QUEUE_ARGUMENTS = { 'x-single-active-consumer': true };

/**
 * Declares the inbox queue as a version-2 classic queue. One declared earlier without the
 * version (by an older polyrecord, or by hand) makes RabbitMQ refuse the declaration and close
 * the channel: it is declared again as it is, on a new connection, which is returned.
 */
async function declareQueue(opened: RabbitLink, queue: string, reopen: () => Promise<RabbitLink>): Promise<RabbitLink> {
  try {
    await opened.channel.assertQueue(queue, { durable: true, arguments: { ...QUEUE_ARGUMENTS, 'x-queue-version': 2 } });
    return opened;
  } catch (error) {
    await opened.close();
    if (!/inequivalent arg 'x-queue-version'/.test(String((error as Error | undefined)?.message))) throw error;
  }
  const again = await reopen();
  try {
    await again.channel.assertQueue(queue, { durable: true, arguments: QUEUE_ARGUMENTS });
  } catch (error) {
    await again.close();
    throw error;
  }
  return again;
}
