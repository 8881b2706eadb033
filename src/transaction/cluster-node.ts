import { performance } from 'node:perf_hooks';
import type { TransactionCoordinator } from './coordinator.js';
import type { NodeLease, NodeLeaseStore } from './node-lease.js';

/** A takeover this node has claimed: another node's recovery duty, held at `epoch`. */
interface Held {
  epoch: number;
  /** performance.now() until which the claim is safe to act on (its last landed write's send time + leaseMs). */
  validUntil: number;
}

/** A row as last seen, and since when (performance.now() after the read) it has not changed. */
interface Observation {
  key: string;
  since: number;
}

/**
 * This process's membership in a cluster of coordinator nodes: it renews its node's
 * lease every `heartbeatMs`, and the leases of the nodes it has taken over, and judges
 * which other nodes' leases have expired.
 *
 * Expiry is judged by the observer, never by comparing clocks: a row whose epoch, beat
 * and holder have not changed for its `leaseMs`, timed from when this node first read
 * it so, has expired (Kubernetes' leader election does the same). The holder counts its
 * lease valid until the send time of its last landed renewal plus `leaseMs`; an observer's
 * first read of that renewal comes after it landed, so its claim can only come later than
 * that. Only monotonic clocks are compared, each with itself.
 */
export class ClusterNode {
  readonly nodeId: string;
  readonly #store: NodeLeaseStore;
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #coordinator: TransactionCoordinator;
  /** Our own epoch while we hold our own recovery duty. */
  #epoch: number | undefined;
  #validUntil = 0;
  #takenOverBy: string | null = null;
  readonly #held = new Map<string, Held>();
  readonly #observed = new Map<string, Observation>();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> = Promise.resolve();
  #stopped = false;
  #failing = false;

  constructor(options: { nodeId: string; store: NodeLeaseStore; leaseMs: number; heartbeatMs: number; coordinator: TransactionCoordinator }) {
    this.nodeId = options.nodeId;
    this.#store = options.store;
    this.#leaseMs = options.leaseMs;
    this.#heartbeatMs = options.heartbeatMs;
    this.#coordinator = options.coordinator;
  }

  /** Starts heartbeating; resolves after the first heartbeat (which registers the node). */
  start(): Promise<void> {
    const loop = () => {
      this.#beating = this.#beat().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(loop, this.#heartbeatMs);
      });
    };
    loop();
    return this.#beating;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#beating;
  }

  /** Whether this node holds its own recovery duty now (its lease renewed within leaseMs, not taken over). */
  holdsOwn(): boolean {
    return this.#epoch !== undefined && performance.now() < this.#validUntil;
  }

  /** Whether this node still safely holds the takeover of `nodeId` at `epoch`. */
  holds(nodeId: string, epoch: number): boolean {
    const held = this.#held.get(nodeId);
    return held !== undefined && held.epoch === epoch && performance.now() < held.validUntil;
  }

  /** One heartbeat: renews our lease (registering, adopting or taking it back as needed) and every takeover we hold. Never throws. */
  async #beat(): Promise<void> {
    try {
      await this.#renewOwn();
      for (const [nodeId, held] of this.#held) {
        const sent = performance.now();
        if (await this.#store.renew(nodeId, held.epoch, this.nodeId, this.#leaseMs)) held.validUntil = sent + this.#leaseMs;
        else this.#held.delete(nodeId);
      }
      this.#failing = false;
    } catch (error) {
      // Once per streak of failures: the lease lapses by itself (holdsOwn turns false), which is the safe side.
      if (!this.#failing) process.emitWarning(`polyrecord: node ${this.nodeId} could not renew its lease: ${error instanceof Error ? error.message : String(error)}`, 'PolyrecordWarning');
      this.#failing = true;
    }
  }

  async #renewOwn(): Promise<void> {
    const sent = performance.now();
    if (this.#epoch !== undefined && (await this.#store.renew(this.nodeId, this.#epoch, null, this.#leaseMs))) {
      this.#validUntil = sent + this.#leaseMs;
      return;
    }
    // Not holding our duty (first beat, or a renewal that did not land): see why.
    this.#epoch = undefined;
    const row = (await this.#store.get(this.nodeId)) ?? (await this.#store.register(this.nodeId, this.#leaseMs));
    if (row.recoveredBy === null) {
      // Nobody else holds it (a restart of this node, a released takeover, or another process sharing the id): adopt the epoch as it stands.
      if (await this.#store.renew(this.nodeId, row.epoch, null, this.#leaseMs)) this.#hold(row.epoch, sent);
      return;
    }
    if (this.#takenOverBy !== row.recoveredBy) {
      this.#takenOverBy = row.recoveredBy;
      this.#coordinator.events.emit('takenOver', { nodeId: this.nodeId, by: row.recoveredBy, epoch: row.epoch });
    }
    // Another node recovers our gids: we do not touch them. Only if its own lease on them lapsed (it died mid-takeover) do we take them back.
    if (this.#expired(row, performance.now())) {
      const claimed = await this.#store.claim(row, null, this.#leaseMs);
      if (claimed) this.#hold(claimed.epoch, sent);
    }
  }

  #hold(epoch: number, sent: number): void {
    this.#epoch = epoch;
    this.#validUntil = sent + this.#leaseMs;
    if (this.#takenOverBy !== null) this.#coordinator.events.emit('rejoined', { nodeId: this.nodeId, epoch });
    this.#takenOverBy = null;
  }

  /** Reads every lease and answers the other nodes' whose lease has expired (by this node's observation), which nobody alive holds and nobody retired. */
  async expired(): Promise<NodeLease[]> {
    const rows = await this.#store.list();
    const at = performance.now();
    for (const nodeId of this.#observed.keys()) if (!rows.some((r) => r.nodeId === nodeId)) this.#observed.delete(nodeId);
    return rows.filter((row) => this.#expired(row, at) && row.nodeId !== this.nodeId && row.retiredAt === null && !this.#held.has(row.nodeId));
  }

  /** Records an observation of `row`, and says whether it has stood unchanged for its whole lease. */
  #expired(row: NodeLease, at: number): boolean {
    const key = `${row.epoch}:${row.beat}:${row.recoveredBy ?? ''}`;
    const seen = this.#observed.get(row.nodeId);
    if (seen?.key !== key) {
      this.#observed.set(row.nodeId, { key, since: at });
      return false;
    }
    return at - seen.since >= row.leaseMs;
  }

  /** The atomic claim of an expired node's recovery duty; resolves with the new epoch, or undefined if another write came first. */
  async claim(lease: NodeLease): Promise<number | undefined> {
    const sent = performance.now();
    const claimed = await this.#store.claim(lease, this.nodeId, this.#leaseMs);
    if (!claimed) return undefined;
    this.#held.set(lease.nodeId, { epoch: claimed.epoch, validUntil: sent + this.#leaseMs });
    this.#coordinator.events.emit('takeover', { nodeId: lease.nodeId, by: this.nodeId, epoch: claimed.epoch });
    return claimed.epoch;
  }

  /** Ends a takeover: releases the node's duty, retiring it when nothing of it was left (`retire`). */
  async release(nodeId: string, epoch: number, retire: boolean): Promise<void> {
    this.#held.delete(nodeId);
    if (retire) await this.#store.retire(nodeId, epoch, this.nodeId);
    else await this.#store.release(nodeId, epoch, this.nodeId);
  }
}
