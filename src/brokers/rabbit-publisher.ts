import { once } from 'node:events';
import type { OutboxPublisher } from '../sync/outbox-publisher.js';
import type { OutboxEvent } from '../sync/outbox-relay.js';
import { ConfigError } from '../errors.js';
import { BrokerPublishError } from './broker-errors.js';
import { encodeEnvelope, toEnvelope } from './envelope.js';
import { checkPartitions, messageAddress } from './message-address.js';
import { openRabbit, type RabbitLink } from './rabbit-link.js';

/** Options of {@link rabbitPublisher}. */
export interface RabbitPublisherOptions {
  /** AMQP URL, e.g. `'amqp://guest:guest@127.0.0.1:5672'`. */
  url: string;
  /** The exchange to publish to. Asserted as a durable `topic` exchange on connect unless `assertExchange: false`. */
  exchange: string;
  /** Routing key prefix: an event is routed with `<routingKey>.<Model>[.<partition>].<key>` (tokens escaped, see docs/brokers.md). */
  routingKey: string;
  /** Spread records over this many partitions: the partition number becomes a routing-key token. */
  partitions?: number;
  /** Prefixes the event id in the envelope and message id (`source:id`) so several outboxes can share an exchange. */
  source?: string;
  /** Assert the exchange (durable, `topic`) on connect. Default true; turn off when it is declared elsewhere with another type. */
  assertExchange?: boolean;
}

/**
 * Publishes outbox events to a RabbitMQ exchange, for `new OutboxRelay({ connection, publish: rabbitPublisher(…) })`,
 * on a confirm channel: persistent messages, `mandatory` so that a message no queue takes
 * comes back as unroutable, and the event counts as delivered only once the broker acked it
 * and did not return it. The message id (`messageId` property) is the event id, the body the
 * JSON envelope. Needs the `amqplib` package (an optional peer dependency).
 *
 * @example
 * ```ts
 * const relay = new OutboxRelay({
 *   connection: 'primary',
 *   publish: rabbitPublisher({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange: 'outbox', routingKey: 'orders' }),
 * })
 * relay.start() // Order 42 updated → routing key orders.Order.42
 * ```
 */
export function rabbitPublisher(options: RabbitPublisherOptions): OutboxPublisher {
  if (!options || typeof options.url !== 'string' || options.url === '') throw new ConfigError('url', 'rabbitPublisher needs the AMQP URL');
  if (typeof options.exchange !== 'string' || options.exchange === '') throw new ConfigError('exchange', 'rabbitPublisher needs an exchange');
  if (typeof options.routingKey !== 'string' || options.routingKey === '') throw new ConfigError('routingKey', 'rabbitPublisher needs a routing key prefix');
  checkPartitions(options.partitions);
  let link: Promise<RabbitLink> | undefined;
  // Message ids the broker returned as unroutable: a return arrives before the ack of the same message.
  const returned = new Set<string>();
  const open = () => {
    link ??= openRabbit(options.url, 'rabbitPublisher', options.exchange).then(async (opened) => {
      opened.channel.on('return', (message: { properties: { messageId?: string } }) => {
        if (message.properties.messageId) returned.add(message.properties.messageId);
      });
      if (options.assertExchange !== false) await opened.channel.assertExchange(options.exchange, 'topic', { durable: true });
      // A lost connection is opened again by the next round.
      void opened.closed.then(() => {
        if (link === current) link = undefined;
      });
      return opened;
    });
    const current = link;
    link.catch(() => {
      if (link === current) link = undefined;
    });
    return link;
  };
  return {
    async publish(events: readonly OutboxEvent[]) {
      const { channel } = await open();
      const confirmations: Promise<unknown>[] = [];
      for (const event of events) {
        const envelope = toEnvelope(event, options.source);
        const routingKey = messageAddress(options.routingKey, envelope.model, envelope.key, options.partitions);
        let settle!: (outcome: unknown) => void;
        confirmations.push(new Promise<unknown>((resolve) => (settle = resolve)));
        const properties = { persistent: true, mandatory: true, messageId: envelope.id, contentType: 'application/json', type: envelope.kind, timestamp: Math.floor(Date.now() / 1000) };
        const written = channel.publish(options.exchange, routingKey, Buffer.from(encodeEnvelope(envelope)), properties, (error: unknown) => {
          const wasReturned = returned.delete(envelope.id);
          if (error) settle(new BrokerPublishError('nack', envelope.id, `RabbitMQ did not confirm it: ${error instanceof Error ? error.message : String(error)}`, error));
          else if (wasReturned) settle(new BrokerPublishError('unroutable', envelope.id, `no queue is bound to exchange ${options.exchange} for routing key ${routingKey}`));
          else settle(undefined);
        });
        // The channel's write buffer is full: wait for it to drain before writing more.
        if (!written) await once(channel, 'drain');
      }
      return Promise.all(confirmations);
    },
    async close() {
      const current = link;
      link = undefined;
      returned.clear();
      if (current) await (await current.catch(() => undefined))?.close();
    },
  };
}
