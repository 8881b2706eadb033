import { closeSync, fsyncSync, openSync, readSync, writeSync, existsSync, fstatSync } from 'node:fs';
import type { CoordinatorLog, DecisionState, ParticipantRecord, TxRecord, TxState } from './coordinator-log.js';

interface Entry {
  id: string;
  state: TxState;
  participants?: ParticipantRecord[];
  at: string;
}

/**
 * The coordinator log as an append-only file of JSON lines, fsynced after every
 * append. Appends from several processes on one host interleave whole lines
 * (O_APPEND), and the first decision line for a transaction wins. For one host;
 * use {@link TableLog} when coordinators and recovery run on several machines.
 */
export class FileLog implements CoordinatorLog {
  readonly path: string;
  readonly #records = new Map<string, TxRecord>();
  #offset = 0;
  #partial = '';

  constructor(options: { path: string }) {
    this.path = options.path;
  }

  get description(): string {
    return `file ${this.path}`;
  }

  async ensure(): Promise<void> {
    if (!existsSync(this.path)) closeSync(openSync(this.path, 'a'));
  }

  async decide(id: string, state: DecisionState, participants: ParticipantRecord[]): Promise<TxRecord> {
    this.#catchUp();
    const standing = this.#records.get(id);
    if (standing) return standing;
    this.#append({ id, state, participants, at: new Date().toISOString() });
    this.#catchUp();
    return this.#records.get(id)!;
  }

  async complete(id: string): Promise<void> {
    this.#append({ id, state: 'committed', at: new Date().toISOString() });
    this.#catchUp();
  }

  async get(id: string): Promise<TxRecord | undefined> {
    this.#catchUp();
    return this.#records.get(id);
  }

  async pending(): Promise<TxRecord[]> {
    this.#catchUp();
    return [...this.#records.values()].filter((r) => r.state === 'committing');
  }

  #append(entry: Entry): void {
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Reads what was appended (by any process) since the last read. */
  #catchUp(): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size <= this.#offset) return;
      const buffer = Buffer.alloc(size - this.#offset);
      readSync(fd, buffer, 0, buffer.length, this.#offset);
      this.#offset = size;
      const lines = (this.#partial + buffer.toString('utf8')).split('\n');
      this.#partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.#apply(JSON.parse(line) as Entry);
    } finally {
      closeSync(fd);
    }
  }

  #apply(entry: Entry): void {
    const at = new Date(entry.at);
    const existing = this.#records.get(entry.id);
    if (!existing) {
      // The first decision line for an id is the decision.
      if (entry.state === 'committed') return;
      this.#records.set(entry.id, { id: entry.id, state: entry.state, participants: entry.participants ?? [], createdAt: at, updatedAt: at });
    } else if (entry.state === 'committed' && (existing.state === 'committing' || existing.state === 'delegated')) {
      existing.state = 'committed';
      existing.updatedAt = at;
    }
  }
}
