import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { ConfigError } from '../errors.js';
import { DeliveryQueue } from './delivery-queue.js';
import { HeldMessages } from './held-messages.js';
import type { InboxMessage, InboxSource } from './inbox-source.js';
import { openNats, type NatsLink } from './nats-link.js';
import { RedeliveryOrder } from './redelivery-order.js';

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
   * Unacked messages JetStream lets the consumer hold, for a consumer created here: the
   * largest batch the consumer can apply in one transaction (with its `batchSize`). Default 100.
   * Each record's order holds through crashes, broker restarts and consumer restarts: what a
   * durable had unacked is redelivered before anything newer, and the source puts it back in
   * stream order (JetStream sends it in the order ack waits ran out). Run one process per
   * durable (docs/brokers.md#ordering-and-partitions). With 1, JetStream itself holds every
   * newer message back behind the one unacked, one message per transaction. An existing
   * durable keeps the value it was created with.
   */
  maxAckPending?: number;
}

const DEFAULT_MAX_ACK_PENDING = 100;

/**
 * Reads a JetStream stream through a durable pull consumer, for an {@link InboxConsumer}.
 * Messages are handed over in stream order, those that arrived while the consumer was busy
 * together (up to the durable's `max_ack_pending`); acks are sent after the inbox transaction
 * committed, with `ackAck()` (the consumer reports one that JetStream does not confirm).
 * Before it pulls, and again after a reconnect, the source waits out the ack wait if the
 * durable has unacked messages, so that JetStream redelivers them before anything newer
 * (docs/brokers.md#ordering-and-partitions).
 * Needs the `@nats-io/transport-node` and `@nats-io/jetstream` packages.
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
  let closing = new AbortController();
  let reconnected = false;
  const held = new HeldMessages();
  let order: RedeliveryOrder | undefined;
  const wrap = (m: JsMsg): InboxMessage => {
    const message: InboxMessage = {
      body: m.data,
      // Acks travel by reply subject and survive a reconnect; an expired ack wait only means a redelivery the inbox drops.
      gone: false,
      deliveries: m.info.deliveryCount,
      ack: async () => {
        held.letGo(message);
        if (!(await m.ackAck())) throw new Error(`JetStream did not confirm the ack of stream sequence ${m.info.streamSequence}`);
      },
      release: async () => {
        held.letGo(message);
        m.nak();
      },
      working: () => m.working(),
      deadLetter: async (reason) => {
        const headers = link!.headers();
        headers.set('Polyrecord-Dead-Reason', reason.replace(/[\r\n]+/g, ' ').slice(0, 1000));
        headers.set('Polyrecord-Subject', m.subject);
        const id = m.headers?.get('Nats-Msg-Id');
        await link!.js.publish(deadSubject, m.data, { headers, ...(id ? { msgID: `dead:${id}` } : {}) });
        held.letGo(message);
        await m.ackAck();
      },
    };
    held.hold(message, m);
    return message;
  };
  /** Pulls into `queue` until closed; after a reconnect, starts over behind a new fence. */
  const pull = async (opened: NatsLink, consumer: Consumer, queue: DeliveryQueue, signal: AbortSignal) => {
    while (!signal.aborted) {
      try {
        const limits = await fence(opened, options, signal);
        if (signal.aborted) return;
        held.renewEvery(limits.ackWaitMs);
        // One per pull: what an earlier pull still held is unacked and comes again, and its quiet timer must not fire into this one.
        order?.discard();
        const pulled = (order = new RedeliveryOrder((m) => queue.push(wrap(m)), Math.max(50, Math.min(1_000, limits.ackWaitMs / 4))));
        pulled.expect(limits.redeliveries);
        messages = await consumer.consume({ max_messages: limits.maxAckPending });
        if (signal.aborted) {
          // close() ran while this pull was being set up (and a closed pull never ends an iteration begun after it).
          await messages.close();
          return;
        }
        for await (const m of messages) pulled.push(m);
      } catch {
        // JetStream did not answer (a server restarting, its stream not back yet): try again shortly.
        await sleep(1_000, undefined, { signal }).catch(() => undefined);
      }
      if (reconnected) {
        reconnected = false;
        // Deliveries may have been lost on the way, and JetStream would send newer messages before
        // redelivering them: drop what was not handed over (unacked, it comes again after the ack
        // wait, in stream order with the lost ones) and pull again behind the fence.
        order?.discard();
        for (const message of queue.take()) held.letGo(message);
      }
    }
  };
  return {
    name: options.durable,
    async open(handle) {
      link = await openNats(options.servers, 'natsSource');
      const opened = link;
      let consumer: Consumer;
      try {
        if (options.streamSubjects) await opened.ensureStream(options.stream, options.streamSubjects, 120_000);
        await opened.ensureStream(`${options.stream}_DEAD`, [deadSubject], 120_000);
        await ensureConsumer(opened, options);
        consumer = await opened.js.consumers.get(options.stream, options.durable);
      } catch (error) {
        await opened.close();
        throw error;
      }
      closing = new AbortController();
      const { signal } = closing;
      void (async () => {
        for await (const status of opened.nc.status()) {
          if (status.type !== 'reconnect' || signal.aborted) continue;
          reconnected = true;
          await messages?.close();
        }
      })();
      const queue = new DeliveryQueue(handle);
      // The consumer gives back what it did not start (it is stopping).
      loop = pull(opened, consumer, queue, signal).then(() => queue.idle());
    },
    async close() {
      closing.abort();
      await messages?.close();
      await loop;
      order?.discard();
      order = undefined;
      held.stop();
      await link?.close();
      link = undefined;
      messages = undefined;
    },
  };
}

/**
 * Waits until pulling keeps per-key order: unacked messages of the durable (held by a process
 * that died, or lost in a reconnect) are queued for redelivery once their ack wait ran out, and
 * a pull made after that gets all of them before anything newer. Resolves with the durable's
 * limits and how many redeliveries the pull starts with (for {@link RedeliveryOrder}).
 */
async function fence(link: NatsLink, options: NatsSourceOptions, signal: AbortSignal): Promise<{ maxAckPending: number; ackWaitMs: number; redeliveries: number }> {
  let info = await link.jsm.consumers.info(options.stream, options.durable);
  const maxAckPending = Math.max(1, info.config.max_ack_pending ?? 1);
  const ackWaitMs = (info.config.ack_wait ?? 30_000_000_000) / 1_000_000;
  // With one unacked message at most, JetStream itself holds newer ones back.
  if (maxAckPending === 1 || info.num_ack_pending === 0) return { maxAckPending, ackWaitMs, redeliveries: 0 };
  // JetStream notices expired messages on a timer: a little longer than the ack wait.
  await sleep(ackWaitMs + Math.max(500, ackWaitMs / 10), undefined, { signal }).catch(() => undefined);
  info = await link.jsm.consumers.info(options.stream, options.durable);
  return { maxAckPending, ackWaitMs, redeliveries: info.num_ack_pending };
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
      max_ack_pending: options.maxAckPending ?? DEFAULT_MAX_ACK_PENDING,
      ...(options.filter ? { filter_subject: options.filter } : {}),
    });
  } catch (error) {
    // Another process created it first.
    await link.jsm.consumers.info(options.stream, options.durable).catch(() => Promise.reject(error));
  }
}
