/**
 * The two brokers the broker benchmark runs through: for one run, a publisher per relay,
 * one source per partition (one consumer each), and removal of everything the run created
 * on the broker. Names are unique per process and run.
 */
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import amqp from 'amqplib';
import { natsPublisher, natsSource, rabbitPublisher, rabbitSource, type InboxSource, type OutboxPublisher } from 'polyrecord';

export interface BrokerUrls {
  readonly nats: string;
  readonly amqp: string;
}

/** What one run uses on one broker. */
export interface BrokerRun {
  /** A new publisher (each relay gets its own connection). */
  publisher(): OutboxPublisher;
  /** The source of partition `p`. */
  source(p: number): InboxSource;
  /** Deletes the run's streams / exchange / queues (missing ones are fine). */
  remove(): Promise<void>;
}

export interface Transport {
  readonly id: 'nats' | 'rabbitmq';
  readonly label: string;
  /** `partitions` partitions under names that contain `tag`. */
  run(tag: string, partitions: number): BrokerRun;
}

export function transports(urls: BrokerUrls): Transport[] {
  return [natsTransport(urls.nats), rabbitTransport(urls.amqp)];
}

function natsTransport(servers: string): Transport {
  return {
    id: 'nats',
    label: 'NATS JetStream',
    run(tag, partitions) {
      const stream = tag.toUpperCase();
      const subject = tag;
      const durables = Array.from({ length: partitions }, (_, p) => `${tag}_p${p}`);
      return {
        publisher: () => natsPublisher({ servers, stream, subject, partitions }),
        // max_ack_pending stays at its default, 100: batches, with each record's order kept through crashes (docs/brokers.md#ordering-and-partitions).
        source: (p) => natsSource({ servers, stream, streamSubjects: [`${subject}.>`], durable: durables[p]!, filter: `${subject}.*.${p}.>` }),
        async remove() {
          const nc = await natsConnect({ servers });
          try {
            const jsm = await jetstreamManager(nc);
            await jsm.streams.delete(stream).catch(() => undefined);
            await jsm.streams.delete(`${stream}_DEAD`).catch(() => undefined);
          } finally {
            await nc.close();
          }
        },
      };
    },
  };
}

function rabbitTransport(url: string): Transport {
  return {
    id: 'rabbitmq',
    label: 'RabbitMQ',
    run(tag, partitions) {
      const exchange = `${tag}.x`;
      const queues = Array.from({ length: partitions }, (_, p) => `${tag}.p${p}`);
      return {
        publisher: () => rabbitPublisher({ url, exchange, routingKey: tag, partitions }),
        source: (p) => rabbitSource({ url, queue: queues[p]!, bindings: [{ exchange, pattern: `${tag}.*.${p}.#` }] }),
        async remove() {
          const connection = await amqp.connect(url);
          try {
            for (const queue of queues.flatMap((q) => [q, `${q}.dead`])) {
              // A failed delete closes the channel: one channel per delete.
              const channel = await connection.createChannel();
              await channel.deleteQueue(queue).catch(() => undefined);
            }
            const channel = await connection.createChannel();
            await channel.deleteExchange(exchange).catch(() => undefined);
          } finally {
            await connection.close().catch(() => undefined);
          }
        },
      };
    },
  };
}
