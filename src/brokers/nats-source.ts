import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { ConfigError } from '../errors.js';
import type { InboxMessage, InboxSource } from './inbox-source.js';
import { openNats, type NatsLink } from './nats-link.js';

/** Options of {@link natsSource}. */
export interface NatsSourceOptions {
  /** NATS server URL(s). */
  servers: string | string[];
  /** The stream the publisher writes to. */
  stream: string;
  /**
   * Creates the stream with these subjects when it does not exist yet (as `natsPublisher` would: `['<subject>.>']`),
   * so consumers may start before the first relay. Without it, a missing stream fails `start()`.
   */
  streamSubjects?: string[];
  /** The durable pull consumer's name: created when missing (explicit acks); consumers with one name share its messages. */
  durable: string;
  /** The subject filter of a consumer created here, e.g. `orders.>`, or one partition: `orders.*.3.>`. Default: the whole stream. */
  filter?: string;
  /** How long JetStream waits for an ack before redelivering, for a consumer created here, in ms. Default 30 000. */
  ackWaitMs?: number;
  /** Where dead messages are copied to. Default `polyrecord.dead.<stream>.<durable>`, stored in the stream `<stream>_DEAD` (created when missing). */
  deadLetterSubject?: string;
  /**
   * Unacked messages JetStream lets the consumer hold, for a consumer created here. Default 1,
   * which keeps per-key order through crashes: a message that was not acked is redelivered
   * before any later one. Above 1, JetStream may redeliver an unacked message after later ones
   * (a consumer crash, an ack wait running out), so order holds only while nothing fails; use
   * partitions (one consumer per partition subject) for throughput instead.
   */
  maxAckPending?: number;
}

/**
 * Reads a JetStream stream through a durable pull consumer, for an {@link InboxConsumer}.
 * Messages are handled one at a time in stream order; the ack is sent (and its receipt
 * awaited) after the inbox transaction committed. Needs the `@nats-io/transport-node` and
 * `@nats-io/jetstream` packages.
 *
 * @example
 * ```ts
 * natsSource({ servers: 'nats://127.0.0.1:4222', stream: 'ORDERS', durable: 'analytics', filter: 'orders.>' })
 * ```
 */
export function natsSource(options: NatsSourceOptions): InboxSource {
  if (!options || (typeof options.servers !== 'string' && !Array.isArray(options.servers))) throw new ConfigError('servers', 'natsSource needs the NATS server URL(s)');
  for (const field of ['stream', 'durable'] as const) if (typeof options[field] !== 'string' || !/^[A-Za-z0-9_-]+$/.test(options[field])) throw new ConfigError(field, `natsSource needs a ${field} name of letters, digits, _ and -`);
  const deadSubject = options.deadLetterSubject ?? `polyrecord.dead.${options.stream}.${options.durable}`;
  let link: NatsLink | undefined;
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  const wrap = (m: JsMsg): InboxMessage => ({
    body: m.data,
    // Acks travel by reply subject and survive a reconnect; an expired ack wait only means a redelivery the inbox drops.
    gone: false,
    deliveries: m.info.deliveryCount,
    ack: async () => {
      if (!(await m.ackAck())) throw new Error(`JetStream did not confirm the ack of stream sequence ${m.info.streamSequence}`);
    },
    release: async () => m.nak(),
    working: () => m.working(),
    deadLetter: async (reason) => {
      const headers = link!.headers();
      headers.set('Polyrecord-Dead-Reason', reason.replace(/[\r\n]+/g, ' ').slice(0, 1000));
      headers.set('Polyrecord-Subject', m.subject);
      const id = m.headers?.get('Nats-Msg-Id');
      await link!.js.publish(deadSubject, m.data, { headers, ...(id ? { msgID: `dead:${id}` } : {}) });
      await m.ackAck();
    },
  });
  return {
    name: options.durable,
    async open(handle) {
      link = await openNats(options.servers, 'natsSource');
      try {
        if (options.streamSubjects) await link.ensureStream(options.stream, options.streamSubjects, 120_000);
        await link.ensureStream(`${options.stream}_DEAD`, [deadSubject], 120_000);
        await ensureConsumer(link, options);
        const consumer = await link.js.consumers.get(options.stream, options.durable);
        messages = await consumer.consume({ max_messages: Math.max(1, options.maxAckPending ?? 1) });
      } catch (error) {
        await link.close();
        throw error;
      }
      const current = messages;
      loop = (async () => {
        for await (const m of current) await handle(wrap(m));
      })();
    },
    async close() {
      await messages?.close();
      await loop?.catch(() => undefined);
      await link?.close();
      link = undefined;
      messages = undefined;
    },
  };
}

async function ensureConsumer(link: NatsLink, options: NatsSourceOptions): Promise<void> {
  try {
    await link.jsm.consumers.info(options.stream, options.durable);
    return;
  } catch (error) {
    if ((error as { name?: string }).name === 'StreamNotFoundError') throw new ConfigError('stream', `JetStream stream ${options.stream} does not exist: give natsSource streamSubjects to create it, or start a natsPublisher first`);
    if (!/consumer not found/i.test(String((error as Error).message)) && (error as { name?: string }).name !== 'ConsumerNotFoundError') throw error;
  }
  const { AckPolicy, DeliverPolicy } = link.jetstream;
  try {
    await link.jsm.consumers.add(options.stream, {
      durable_name: options.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: (options.ackWaitMs ?? 30_000) * 1_000_000,
      max_ack_pending: options.maxAckPending ?? 1,
      ...(options.filter ? { filter_subject: options.filter } : {}),
    });
  } catch (error) {
    // Another process created it first.
    await link.jsm.consumers.info(options.stream, options.durable).catch(() => Promise.reject(error));
  }
}
