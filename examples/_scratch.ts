import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, ConfigError } from 'polyrecord';

@Model({ connection: 'main', table: 'pr_scratch_things' })
class Thing extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
}

async function main() {
  for (const url of ['postgres://postgres@127.0.0.1:5432/test', 'mysql://root@127.0.0.1:3306/test']) {
    ConnectionManager.configure('main', { url, queryTimeoutMs: 200 });
    const knex = ConnectionManager.get('main').knex;
    await knex.schema.dropTableIfExists('pr_scratch_things');
    await knex.schema.createTable('pr_scratch_things', (t) => { t.increments('id'); t.string('name').unique(); });
    await Thing.create({ id: 1, name: 'explicit' });
    try { const t = await Thing.create({ name: 'generated' }); console.log(url, 'generated id', t.id); } catch (e) { console.log(url, (e as Error).name, (e as Error).message); }
    try { await ConnectionManager.get('main').execute(url.startsWith('postgres') ? 'select pg_sleep(1)' : 'select sleep(1) from pr_scratch_things', []); console.log('no timeout'); } catch (e) { console.log((e as Error).name, (e as Error).message); }
    console.log(await ConnectionManager.health('main'));
    await knex.schema.dropTableIfExists('pr_scratch_things');
    await ConnectionManager.remove('main');
  }
  ConnectionManager.configure('bad', { url: 'postgres://u:s3cret@127.0.0.1:1/x', healthTimeoutMs: 500 });
  console.log(await ConnectionManager.health('bad'));
  console.log(String(ConnectionManager.get('bad').settings), JSON.stringify(ConnectionManager.get('bad')));
  for (const cfg of [{ driver: 'oracle' }, { driver: 'sqlite' }, { url: 'postgres://x/db', port: 99999 }, { driver: 'sqlite', database: 'a', pool: { max: 0 } }, { driver: 'sqlite', database: 'a', timeout: 3 }]) {
    try { ConnectionManager.configure('c', cfg as never); } catch (e) { console.log((e as ConfigError).field, '|', (e as Error).message); }
  }
  ConnectionManager.configure('mem', { driver: 'sqlite', database: ':memory:', pool: { max: 5 } });
  console.log(ConnectionManager.get('mem').settings.pool);
  await ConnectionManager.closeAll();
}
main().catch((e) => { console.error(e); process.exit(1); });
