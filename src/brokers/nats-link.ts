import type { MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { importOptional } from './optional-package.js';

type TransportModule = typeof import('@nats-io/transport-node');
type JetStreamModule = typeof import('@nats-io/jetstream');

/** An open NATS connection with its JetStream client and manager. */
export interface NatsLink {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly jetstream: JetStreamModule;
  /** A new, empty set of message headers. */
  headers(): MsgHdrs;
  /** Creates the stream with these subjects unless it exists (safe to race). */
  ensureStream(name: string, subjects: string[], duplicateWindowMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A CommonJS package imported from ES modules has its exports on `default` too; either way works. */
function exportsOf<T>(module: T): T {
  return ((module as { default?: T }).default ?? module) as T;
}

/** Loads the NATS client packages (optional peer dependencies) and connects. */
export async function openNats(servers: string | string[], usedBy: string): Promise<NatsLink> {
  const transport = exportsOf(await importOptional<TransportModule>('@nats-io/transport-node', usedBy));
  const jetstream = exportsOf(await importOptional<JetStreamModule>('@nats-io/jetstream', usedBy));
  // noAsyncTraces: the client would otherwise build two Error objects with stack traces for every
  // request (each JetStream publish and each confirmed ack), about a tenth of a relay's CPU;
  // polyrecord names what failed in its own errors.
  const nc = await transport.connect({ servers, maxReconnectAttempts: -1, noAsyncTraces: true });
  const js = jetstream.jetstream(nc);
  const jsm = await jetstream.jetstreamManager(nc);
  return {
    nc,
    js,
    jsm,
    jetstream,
    headers: () => transport.headers(),
    async ensureStream(name, subjects, duplicateWindowMs) {
      if (await streamExists(jsm, name)) return;
      try {
        await jsm.streams.add({ name, subjects, duplicate_window: duplicateWindowMs * 1_000_000 });
      } catch (error) {
        if (!(await streamExists(jsm, name))) throw error;
      }
    },
    async close() {
      await nc.drain().catch(() => nc.close());
    },
  };
}

async function streamExists(jsm: JetStreamManager, name: string): Promise<boolean> {
  try {
    await jsm.streams.info(name);
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'StreamNotFoundError' || /stream not found/i.test(String((error as Error).message))) return false;
    throw error;
  }
}
