import type { OutboxPublisher } from '../sync/outbox-publisher.js';
import type { OutboxEvent } from '../sync/outbox-relay.js';
import { ConfigError } from '../errors.js';
import { BrokerPublishError } from './broker-errors.js';
import { encodeEnvelope, toEnvelope } from './envelope.js';
import { checkPartitions, messageAddress } from './message-address.js';
import { openNats, type NatsLink } from './nats-link.js';

/** Options of {@link natsPublisher}. */
export interface NatsPublisherOptions {
  /** NATS server URL(s), e.g. `'nats://127.0.0.1:4222'`. */
  servers: string | string[];
  /** The JetStream stream that stores the events. Created (subjects `<subject>.>`, file storage) when it does not exist. */
  stream: string;
  /** Subject prefix: an event goes to `<subject>.<Model>[.<partition>].<key>` (tokens escaped, see docs/brokers.md). */
  subject: string;
  /** Spread records over this many partitions: the partition number becomes a subject token. Default: no partition token. */
  partitions?: number;
  /** Prefixes the event id in the envelope and message id (`source:id`) so several outboxes can share a stream. */
  source?: string;
  /** How long to wait for each JetStream ack, in ms. Default 10 000. */
  ackTimeoutMs?: number;
  /** JetStream's duplicate window for a stream this publisher creates, in ms. Default 120 000. */
  duplicateWindowMs?: number;
}

/**
 * Publishes outbox events to NATS JetStream, for `new OutboxRelay({ connection, publish: natsPublisher(…) })`.
 * Each event is one message with the JSON envelope as body and the event id as JetStream
 * message id (`Nats-Msg-Id`), so the stream drops a republished event within its duplicate
 * window. An event counts as delivered once its JetStream publish ack arrived. Needs the
 * `@nats-io/transport-node` and `@nats-io/jetstream` packages (optional peer dependencies).
 *
 * @example
 * ```ts
 * const relay = new OutboxRelay({
 *   connection: 'primary',
 *   publish: natsPublisher({ servers: 'nats://127.0.0.1:4222', stream: 'ORDERS', subject: 'orders' }),
 * })
 * relay.start() // Order 42 updated → subject orders.Order.42
 * ```
 */
export function natsPublisher(options: NatsPublisherOptions): OutboxPublisher {
  const settings = checkNatsPublisherOptions(options);
  let link: Promise<NatsLink> | undefined;
  const open = () => {
    link ??= openNats(settings.servers, 'natsPublisher').then(async (opened) => {
      await opened.ensureStream(settings.stream, [`${settings.subject}.>`], settings.duplicateWindowMs);
      return opened;
    });
    // A failed connect is not remembered: the next round tries again.
    link.catch(() => (link = undefined));
    return link;
  };
  return {
    async publish(events: readonly OutboxEvent[]) {
      const { js } = await open();
      return Promise.all(
        events.map(async (event) => {
          const envelope = toEnvelope(event, settings.source);
          try {
            const ack = await js.publish(messageAddress(settings.subject, envelope.model, envelope.key, settings.partitions), encodeEnvelope(envelope), { msgID: envelope.id, timeout: settings.ackTimeoutMs });
            if (ack.stream !== settings.stream) return new BrokerPublishError('nack', envelope.id, `stored by stream ${ack.stream}, not ${settings.stream}`);
            return undefined;
          } catch (error) {
            return new BrokerPublishError('no-ack', envelope.id, `JetStream did not confirm it: ${error instanceof Error ? error.message : String(error)}`, error);
          }
        }),
      );
    },
    async close() {
      const current = link;
      link = undefined;
      if (current) await (await current.catch(() => undefined))?.close();
    },
  };
}

function checkNatsPublisherOptions(options: NatsPublisherOptions): Required<Omit<NatsPublisherOptions, 'partitions' | 'source'>> & Pick<NatsPublisherOptions, 'partitions' | 'source'> {
  if (!options || (typeof options.servers !== 'string' && !Array.isArray(options.servers))) throw new ConfigError('servers', 'natsPublisher needs the NATS server URL(s)');
  for (const field of ['stream', 'subject'] as const) if (typeof options[field] !== 'string' || options[field] === '') throw new ConfigError(field, `natsPublisher needs a ${field}`);
  if (/[\s*>]/.test(options.subject) || options.subject.startsWith('.') || options.subject.endsWith('.')) throw new ConfigError('subject', `"${options.subject}" is not a subject prefix (no wildcards, spaces or leading/trailing dots)`);
  checkPartitions(options.partitions);
  return { ackTimeoutMs: 10_000, duplicateWindowMs: 120_000, ...options };
}
