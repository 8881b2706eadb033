import { describe, expect, it } from 'vitest';
import { ConfigError, EnvelopeError, escapeToken, InboxConsumer, natsPublisher, natsSource, OutboxRelay, partitionOf, rabbitPublisher, rabbitSource } from '../src/index.js';
import { decodeEnvelope, encodeEnvelope } from '../src/brokers/envelope.js';
import { messageAddress } from '../src/brokers/message-address.js';

describe('broker subjects, partitions and the envelope', () => {
  it('escapes a key into one token without separators or wildcards, reversibly', () => {
    expect(escapeToken('42')).toBe('42');
    expect(escapeToken('a.b*c>d#e f%g')).toBe('a%2Eb%2Ac%3Ed%23e%20f%25g');
    expect(escapeToken('Zoë')).toBe('Zo%C3%AB');
    for (const key of ['a.b*c>d#e f%g', 'Zoë', '1|2', '-_x_-']) expect(decodeURIComponent(escapeToken(key))).toBe(key);
    expect(messageAddress('shop.events', 'Order', '7.1', undefined)).toBe('shop.events.Order.7%2E1');
    expect(messageAddress('shop', 'Order', '7', 4)).toBe(`shop.Order.${partitionOf('Order', '7', 4)}.7`);
  });

  it('partitions by a stable hash of model and key', () => {
    // SHA-1("User\n1") starts with 2f10deec = 789634796 (computed with Python's hashlib): the documented rule, so other languages agree.
    expect(partitionOf('User', '1', 1000)).toBe(796);
    expect(partitionOf('User', '1', 7)).toBe(6);
    expect(partitionOf('User', '1', 1)).toBe(0);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 400; i++) counts[partitionOf('User', String(i), 4)]! += 1;
    expect(counts.every((n) => n > 0)).toBe(true);
    expect(partitionOf('User', '17', 4)).toBe(partitionOf('User', '17', 4));
  });

  it('reads only version-1 envelopes', () => {
    const envelope = { id: '1', model: 'User', key: '1', kind: 'created' as const, payload: { id: 1 }, occurredAt: '2026-01-01T00:00:00.000Z', schemaVersion: 1 };
    expect(decodeEnvelope(encodeEnvelope(envelope))).toEqual(envelope);
    const bad = (value: unknown) => () => decodeEnvelope(new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value)));
    expect(bad('not json')).toThrow(EnvelopeError);
    expect(bad({ ...envelope, schemaVersion: 2 })).toThrow(/schemaVersion 2/);
    expect(bad({ ...envelope, kind: 'moved' })).toThrow(/kind/);
    expect(bad({ ...envelope, id: '' })).toThrow(/"id"/);
    expect(bad({ ...envelope, payload: [] })).toThrow(/payload/);
  });

  it('refuses bad options with a ConfigError naming the field', () => {
    expect(() => natsPublisher({ servers: 'nats://x', stream: 'S', subject: 'a.*' })).toThrow(ConfigError);
    expect(() => natsPublisher({ servers: 'nats://x', stream: 'S', subject: 'a', partitions: 0 })).toThrow(/partitions/);
    expect(() => rabbitPublisher({ url: 'amqp://x', exchange: '', routingKey: 'a' })).toThrow(/exchange/);
    expect(() => natsSource({ servers: 'nats://x', stream: 'S', durable: 'has.dot' })).toThrow(/durable/);
    expect(() => rabbitSource({ url: 'amqp://x', queue: '' })).toThrow(/queue/);
    expect(() => new OutboxRelay({ connection: 'nowhere', publish: {} as never })).toThrow(/publish/);
    expect(() => new InboxConsumer({ connection: 'nowhere', source: {} as never })).toThrow(/source/);
  });
});
