import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';

// Where a message goes: `<prefix>.<model>[.<partition>].<key>`, the same tokens for NATS
// subjects and RabbitMQ routing keys, so consumers can filter or bind by model, partition or key.

const PLAIN_TOKEN = /^[A-Za-z0-9_-]*$/;

/**
 * One subject / routing-key token: ASCII letters, digits, `_` and `-` stay as they are; every
 * other byte of the UTF-8 text becomes `%` and two upper-case hex digits (`.` → `%2E`, `*` →
 * `%2A`, `>` → `%3E`, `#` → `%23`, space → `%20`, `%` → `%25`). So a token never contains the
 * separator `.` nor a wildcard, and decoding is `decodeURIComponent`.
 */
export function escapeToken(text: string): string {
  // Most model names and keys need no escaping: no buffer, no per-byte work.
  if (PLAIN_TOKEN.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The partition (0 to `partitions - 1`) of a record: the first 4 bytes of
 * SHA-1(`model` + `"\n"` + `key`) as an unsigned big-endian integer, modulo `partitions`.
 * Stable across processes, versions and languages; every event of a record lands in one partition.
 */
export function partitionOf(model: string, key: string, partitions: number): number {
  return createHash('sha1').update(`${model}\n${key}`).digest().readUInt32BE(0) % partitions;
}

/** The subject / routing key of one event. */
export function messageAddress(prefix: string, model: string, key: string, partitions: number | undefined): string {
  const tokens = [prefix, escapeToken(model)];
  if (partitions !== undefined) tokens.push(String(partitionOf(model, key, partitions)));
  tokens.push(escapeToken(key));
  return tokens.join('.');
}

/** `partitions`, when given, must be a positive integer. */
export function checkPartitions(partitions: number | undefined): void {
  if (partitions !== undefined && (!Number.isInteger(partitions) || partitions < 1)) throw new ConfigError('partitions', `must be a positive integer (got ${String(partitions)})`);
}
