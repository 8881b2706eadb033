/**
 * MariaDB's prepared-statement limit is server-wide, so what this file checks exactly
 * (the server's own count, and what happens when the limit is full) can only be
 * checked while no other suite prepares statements: it runs in the serial project.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, type ConnectionConfig, type ConnectionWarning } from '../src/index.js';
import { DIALECTS } from './support/dialects.js';

const mariadb = DIALECTS.find((d) => d.driver === 'mysql');

@Model({ connection: 'primary', table: 'items' })
class Item extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) n!: number;
}

describe.runIf(mariadb)(`MariaDB server-wide prepared-statement limit${mariadb ? '' : ' (needs POLYRECORD_MYSQL_URL)'}`, () => {
  let admin: mysql.Connection;
  let drop: () => Promise<void>;
  let config: ConnectionConfig;
  let originalLimit = 0;
  const serverCount = async () => {
    const [rows] = await admin.query("show global status like 'Prepared_stmt_count'");
    return Number((rows as Array<{ Value: string }>)[0]!.Value);
  };

  beforeAll(async () => {
    admin = await mysql.createConnection(process.env.POLYRECORD_MYSQL_URL!);
    const [rows] = await admin.query('select @@global.max_prepared_stmt_count as n');
    originalLimit = Number((rows as Array<{ n: number }>)[0]!.n);
    const provisioned = await mariadb!.provision(1);
    drop = provisioned.drop;
    config = provisioned.configs[0]!;
    ConnectionManager.configure('primary', config);
    await ConnectionManager.get('primary').knex.schema.createTable('items', (t) => {
      t.increments('id');
      t.integer('n').notNullable();
    });
    await Item.bulkInsert(Array.from({ length: 20 }, (_, n) => ({ n })));
  });
  afterAll(async () => {
    await admin.query(`set global max_prepared_stmt_count = ${originalLimit}`);
    await admin.end();
    await ConnectionManager.closeAll();
    await drop();
  });

  it('the server never holds more than pool size x statementCacheSize of our statements', async () => {
    ConnectionManager.configure('bounded', { ...config, pool: { min: 0, max: 2 }, statementCacheSize: 20, prepareThreshold: 1 });
    const base = await serverCount();
    let peak = 0;
    for (let wave = 0; wave < 1_000; wave++) {
      const counts = await Promise.all(Array.from({ length: 4 }, (_, k) => Item.using('bounded').whereRaw(`n <> ${wave * 4 + k}`, [], { prepare: true }).count()));
      expect(counts.every((c) => c >= 19)).toBe(true);
      if (wave % 50 === 0) peak = Math.max(peak, (await serverCount()) - base);
    }
    peak = Math.max(peak, (await serverCount()) - base);
    expect(peak).toBeGreaterThan(20); // both sessions really prepared
    expect(peak).toBeLessThanOrEqual(2 * 20);
    await ConnectionManager.remove('bounded');
    // The server frees a session's statements as it notices the disconnect.
    for (let i = 0; i < 50 && (await serverCount()) !== base; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await serverCount()).toBe(base);
  }, 120_000);

  it('a full server limit fails no query: statements run unprepared and one warning says why', async () => {
    const warnings: ConnectionWarning[] = [];
    ConnectionManager.default.events.on('warning', (w) => warnings.push(w));
    ConnectionManager.configure('refused', { ...config, pool: { max: 1 }, statementCacheSize: 50, prepareThreshold: 1 });
    await admin.query(`set global max_prepared_stmt_count = ${(await serverCount()) + 3}`);
    try {
      for (let i = 0; i < 30; i++) expect(await Item.using('refused').whereRaw(`n >= ${i}`, [], { prepare: true }).count()).toBe(20 - Math.min(i, 20));
    } finally {
      await admin.query(`set global max_prepared_stmt_count = ${originalLimit}`);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ connection: 'refused', code: 'E_PREPARE_REFUSED', driverCode: 'ER_MAX_PREPARED_STMT_COUNT_REACHED' });
    expect(warnings[0]!.message).toMatch(/max_prepared_stmt_count/);
    const stats = ConnectionManager.status('refused').statements;
    expect(stats.refused).toBe(1);
    expect(stats.prepared).toBe(3);
    ConnectionManager.default.events.removeAllListeners('warning');
    await ConnectionManager.remove('refused');
  });
});
