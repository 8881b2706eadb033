import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RabbitAcks } from '../src/brokers/rabbit-acks.js';
import { rabbitSource, type InboxMessage } from '../src/index.js';
import { AMQP_URL, brokerNames } from './support/brokers.js';

/** Ten messages delivered on a fresh channel (prefetch 10) of a fresh queue, with the channel's own acks watched. */
async function tenDelivered(connection: ChannelModel) {
  const queue = `${brokerNames().queue}.acks`;
  const channel = await connection.createChannel();
  const failures: unknown[] = [];
  channel.on('error', (error) => failures.push(error));
  await channel.assertQueue(queue, { durable: false });
  for (let i = 1; i <= 10; i++) channel.sendToQueue(queue, Buffer.from(String(i)));
  await channel.prefetch(10);
  const delivered: ConsumeMessage[] = [];
  await channel.consume(queue, (m) => m && delivered.push(m));
  await vi.waitFor(() => expect(delivered).toHaveLength(10));
  const frames = vi.spyOn(channel, 'ack');
  const acks = new RabbitAcks(channel);
  for (const m of delivered) acks.delivered(m);
  /** Closes the channel (unacked messages go back to the queue) and counts what the queue holds. */
  const leftInQueue = async () => {
    await channel.close().catch(() => undefined);
    const check = await connection.createChannel();
    const { messageCount } = await check.checkQueue(queue);
    await check.deleteQueue(queue);
    await check.close();
    return messageCount;
  };
  return { channel: channel as Channel, delivered, acks, frames, failures, leftInQueue };
}

const byTag = (calls: Array<[ConsumeMessage, boolean?]>) => calls.map(([m, multiple]) => [m.fields.deliveryTag, multiple]);

let connection: ChannelModel;

if (!AMQP_URL) describe.skip('rabbitSource (needs POLYRECORD_AMQP_URL)', () => {});
else
  describe('rabbitSource on a real RabbitMQ', () => {
    beforeAll(async () => {
      connection = await amqp.connect(AMQP_URL);
    });
    afterAll(async () => {
      await connection.close();
    });

    describe('RabbitAcks on a channel', () => {
      it('a batch acked in one turn is one multiple ack, and the broker has settled every message', async () => {
        const { delivered, acks, frames, failures, leftInQueue } = await tenDelivered(connection);
        await Promise.all(delivered.map((m) => acks.ack(m)));
        expect(byTag(frames.mock.calls as never)).toEqual([[10, true]]);
        expect(await leftInQueue()).toBe(0);
        expect(failures).toEqual([]);
      });

      it('acks behind an unsettled delivery go one by one, and a later run covering them is not refused', async () => {
        const { delivered, acks, frames, failures, leftInQueue } = await tenDelivered(connection);
        await Promise.all(delivered.slice(7).map((m) => acks.ack(m)));
        await Promise.all(delivered.slice(0, 5).map((m) => acks.ack(m)));
        expect(byTag(frames.mock.calls as never)).toEqual([
          [8, false],
          [9, false],
          [10, false],
          [5, true],
        ]);
        // Deliveries 6 and 7 were never acked: they are back in the queue.
        expect(await leftInQueue()).toBe(2);
        expect(failures).toEqual([]);
      });

      it('a released delivery goes back to the queue and is not covered by the run after it', async () => {
        const { delivered, acks, frames, failures, leftInQueue } = await tenDelivered(connection);
        const before = Promise.all(delivered.slice(0, 3).map((m) => acks.ack(m)));
        acks.release(delivered[3]!);
        await before;
        await Promise.all(delivered.slice(4).map((m) => acks.ack(m)));
        expect(byTag(frames.mock.calls as never)).toEqual([
          [3, true],
          [10, true],
        ]);
        expect(await leftInQueue()).toBe(1);
        expect(failures).toEqual([]);
      });

      it('an ack on a closed channel rejects (the broker delivers the message again)', async () => {
        const { channel, delivered, acks, leftInQueue } = await tenDelivered(connection);
        await channel.close();
        await expect(acks.ack(delivered[0]!)).rejects.toThrow(/closed/i);
        expect(await leftInQueue()).toBe(10);
      });
    });

    describe('the queue it declares', () => {
      /** Whether RabbitMQ takes a declaration of `queue` with these arguments as equivalent to the queue it has. */
      async function declaredAs(queue: string, args: Record<string, unknown>): Promise<boolean> {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        try {
          await channel.assertQueue(queue, { durable: true, arguments: args });
          await channel.close();
          return true;
        } catch {
          return false;
        }
      }

      /** Opens a source on `queue`, sends one message to it and resolves with what the source handed over (acked), then closes. */
      async function receiveOne(queue: string): Promise<string> {
        const source = rabbitSource({ url: AMQP_URL, queue });
        let received!: (text: string) => void;
        const got = new Promise<string>((resolve) => (received = resolve));
        await source.open(async (messages: readonly InboxMessage[]) => {
          for (const m of messages) await m.ack();
          received(Buffer.from(messages[0]!.body).toString());
        });
        const channel = await connection.createChannel();
        channel.sendToQueue(queue, Buffer.from('hello'));
        const text = await got;
        await source.close();
        await channel.close();
        return text;
      }

      async function remove(queue: string): Promise<void> {
        const channel = await connection.createChannel();
        await channel.deleteQueue(queue);
        await channel.deleteQueue(`${queue}.dead`);
        await channel.close();
      }

      it('is a version-2 classic queue with a single active consumer', async () => {
        const queue = `${brokerNames().queue}.v2`;
        const source = rabbitSource({ url: AMQP_URL, queue });
        await source.open(async () => undefined);
        await source.close();
        expect(await declaredAs(queue, { 'x-single-active-consumer': true, 'x-queue-version': 2 })).toBe(true);
        expect(await declaredAs(queue, { 'x-single-active-consumer': true })).toBe(false);
        expect(await receiveOne(queue)).toBe('hello');
        await remove(queue);
      });

      it('one declared before without a version (an older polyrecord) is used as it is', async () => {
        const queue = `${brokerNames().queue}.v1`;
        expect(await declaredAs(queue, { 'x-single-active-consumer': true })).toBe(true);
        expect(await receiveOne(queue)).toBe('hello');
        // Nothing was changed or re-created: it is still the queue without a version.
        expect(await declaredAs(queue, { 'x-single-active-consumer': true, 'x-queue-version': 2 })).toBe(false);
        expect(await declaredAs(queue, { 'x-single-active-consumer': true })).toBe(true);
        await remove(queue);
      });
    });
  });
