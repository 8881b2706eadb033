import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConfigError, ConnectionManager, Model, PrimaryKey, TransactionError } from '../src/index.js';

@Model({ connection: 'lite', table: 'notes' })
class Note extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) body!: string;
}

/** SQLite has one session per database: what happens when it cannot be opened, or is asked for twice by one scope. */
describe('the SQLite session', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'polyrecord-session-'));
  });
  afterEach(async () => {
    await ConnectionManager.closeAll();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('commits durably (synchronous = FULL) whether or not the file was already in WAL mode when it opened', async () => {
    // better-sqlite3's SQLite opens a file already in WAL mode with synchronous = NORMAL: a power loss could undo a commit.
    const walAlready = join(dir, 'wal-already.sqlite');
    const other = new Database(walAlready);
    other.pragma('journal_mode = WAL');
    other.close();
    expect(new Database(walAlready).pragma('synchronous', { simple: true })).toBe(1);
    for (const [name, database] of [['lite', walAlready], ['fresh', join(dir, 'fresh.sqlite')]] as const) {
      ConnectionManager.configure(name, { driver: 'sqlite', database });
      const { rows } = await ConnectionManager.get(name).execute('PRAGMA synchronous', []);
      expect(rows).toEqual([{ synchronous: 2 }]);
      expect((await ConnectionManager.get(name).execute('PRAGMA journal_mode', [])).rows).toEqual([{ journal_mode: 'wal' }]);
    }
  });

  it('a database file whose directory does not exist is a ConfigError naming the connection and the path, on every entry point; creating the directory fixes it', async () => {
    const path = join(dir, 'missing', 'app.sqlite');
    ConnectionManager.configure('lite', { driver: 'sqlite', database: path });
    const connection = ConnectionManager.get('lite');
    const attempts: Array<() => Promise<unknown>> = [() => Note.count(), async () => connection.knex.raw('select 1'), () => connection.execute('select 1', []), () => Note.transaction(() => undefined)];
    for (const attempt of attempts) {
      const error = await attempt().then(() => 'no error', (e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).connection).toBe('lite');
      expect((error as Error).message).toContain(path);
    }
    mkdirSync(join(dir, 'missing'));
    await connection.knex.schema.createTable('notes', (t) => {
      t.increments('id');
      t.string('body');
    });
    await Note.create({ body: 'now it opens' });
    expect(await Note.count()).toBe(1);
  });

  describe('connection.knex inside a transaction on the same SQLite connection', () => {
    beforeAll(async () => {
      ConnectionManager.configure('lite', { driver: 'sqlite', database: join(dir, 'app.sqlite') });
      await ConnectionManager.get('lite').knex.schema.createTable('notes', (t) => {
        t.increments('id');
        t.string('body');
      });
      await ConnectionManager.closeAll();
    });

    it('fails fast with a TransactionError that names the way out; the transaction rolls back and the connection works afterwards', async () => {
      ConnectionManager.configure('lite', { driver: 'sqlite', database: join(dir, 'app.sqlite') });
      const connection = ConnectionManager.get('lite');
      const error = await Note.transaction(async () => {
        await Note.create({ body: 'inside' });
        await connection.knex('notes').insert({ body: 'through knex' });
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransactionError);
      expect((error as Error).message).toMatch(/trx\.table\(\)/);
      expect(await Note.where('body', 'inside').count()).toBe(0);
      // The session is free again: knex and the models both work.
      await connection.knex('notes').insert({ body: 'after' });
      expect(await Note.count()).toBe(1);
      // What the message recommends works inside the transaction.
      await Note.transaction(async (trx) => {
        await trx.table('notes').insert({ body: 'through trx.table()' });
      });
      expect(await Note.where('body', 'through trx.table()').count()).toBe(1);
    });

    it('a query of another scope waits for the transaction instead of failing', async () => {
      ConnectionManager.configure('lite', { driver: 'sqlite', database: join(dir, 'app.sqlite') });
      const connection = ConnectionManager.get('lite');
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const inside = new Promise<void>((resolve) => (started = resolve));
      const transaction = Note.transaction(async () => {
        await Note.create({ body: 'from the transaction' });
        started();
        await held;
      });
      await inside;
      // Started outside the transaction's scope: it queues behind it.
      const outside = connection.knex('notes').count({ n: '*' });
      release();
      await transaction;
      expect(Number((await outside)[0]!.n)).toBeGreaterThanOrEqual(1);
    });
  });
});
