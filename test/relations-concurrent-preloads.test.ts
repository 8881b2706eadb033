import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, HasMany, HasOne, Model, modelMetadata, ModelQuery, PrimaryKey, QueryError } from '../src/index.js';
import { preloadLanes } from '../src/model/relations/preload-lanes.js';
import { DIALECTS, SERVER_DIALECTS } from './support/dialects.js';
import { createMusicTables } from './support/music-schema.js';
import { waitFor } from './support/wait.js';

// Sibling preloads on different connections run at the same time. Proof without timing: each
// related table is locked by another session, and the servers must report both relation
// queries waiting at once (one after another, the second would never start).

@Model({ connection: 'c_albums', table: 'albums' })
class CAlbum extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) artistId!: number | null;
  @Column({ type: 'string' }) title!: string;
  @Column({ type: 'integer' }) year!: number;
}

@Model({ connection: 'c_profiles', table: 'profiles' })
class CProfile extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) artistId!: number;
  @Column({ type: 'string' }) bio!: string;
  @HasMany(() => CAlbum, { foreignKey: 'artistId', localKey: 'artistId' }) albums!: CAlbum[];
}

@Model({ connection: 'c_profiles', table: 'no_such_table' })
class CMissing extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) artistId!: number;
}

@Model({ connection: 'c_parents', table: 'artists' })
class CArtist extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @HasMany(() => CAlbum, { foreignKey: 'artistId' }) albums!: CAlbum[];
  @HasOne(() => CProfile, { foreignKey: 'artistId' }) profile!: CProfile | null;
  @HasMany(() => CMissing, { foreignKey: 'artistId' }) missing!: CMissing[];
}

/** How each server locks a table against readers, and counts the statements of one database waiting on it. */
const TABLE_LOCKS: Record<string, { lock: (t: string) => string; unlock?: string; waiting: (db: string, t: string) => string }> = {
  postgresql: {
    lock: (t) => `lock table ${t} in access exclusive mode`,
    waiting: (db, t) => `select count(*)::int as n from pg_stat_activity where datname = '${db}' and wait_event_type = 'Lock' and query like '%from "${t}"%'`,
  },
  mysql: {
    lock: (t) => `lock tables ${t} write`,
    unlock: 'unlock tables',
    waiting: (db, t) => `select count(*) as n from information_schema.processlist where db = '${db}' and id <> connection_id() and info like '%from \`${t}\`%'`,
  },
};

describe('relations: which sibling preloads may run at once', () => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await DIALECTS[0]!.provision(3);
    for (const [i, name] of ['c_parents', 'c_albums', 'c_profiles'].entries()) ConnectionManager.configure(name, provisioned.configs[i]!);
    drop = async () => {
      await ConnectionManager.closeAll();
      await provisioned.drop();
    };
  });
  afterAll(() => drop());

  const lanes = (query: ModelQuery<CArtist>) => preloadLanes(modelMetadata(CArtist)!, ['c_parents'], ModelQuery.stateOf(query).state.relations!.preloads).map((lane) => lane.map((p) => p.name));

  it('siblings on different connections get lanes of their own; siblings that share a connection anywhere below share one', () => {
    expect(lanes(CArtist.preload('albums').preload('profile'))).toEqual([['albums'], ['profile']]);
    expect(lanes(CArtist.preload('albums').preload('profile').preload('missing'))).toEqual([['albums'], ['profile', 'missing']]);
    expect(lanes(CArtist.preload('albums').preload('profile.albums'))).toEqual([['albums', 'profile']]);
    expect(lanes(CArtist.preload('albums').preload('profile', (q) => q.whereHas('albums')))).toEqual([['albums', 'profile']]);
    expect(lanes(CArtist.preload('albums').preload('profile', (q) => q.withCount('albums')))).toEqual([['albums', 'profile']]);
    // The scope's switches count: both on one connection, one lane.
    expect(ConnectionManager.withConnections({ c_profiles: 'c_albums' }, () => lanes(CArtist.preload('albums').preload('profile')))).toEqual([['albums', 'profile']]);
  });
});

const rowsOf = (driver: string, result: any): Record<string, unknown>[] => (driver === 'postgresql' ? result.rows : result[0]);

for (const dialect of SERVER_DIALECTS) {
  describe(`relations: sibling preloads on different connections run at once [${dialect.driver}]`, () => {
    const locks = TABLE_LOCKS[dialect.driver]!;
    const databases: Record<string, string> = {};
    let drop: () => Promise<void>;

    /** Holds a lock on `table` of connection `name` until the returned function is called. */
    async function holdLock(name: string, table: string): Promise<() => Promise<void>> {
      const trx = await ConnectionManager.get(name).knex.transaction();
      await trx.raw(locks.lock(table));
      return async () => {
        if (locks.unlock) await trx.raw(locks.unlock);
        await trx.commit();
      };
    }

    async function waiting(name: string, table: string): Promise<number> {
      const result = await ConnectionManager.get('c_parents').knex.raw(locks.waiting(databases[name]!, table));
      return Number(rowsOf(dialect.driver, result)[0]!.n);
    }

    beforeAll(async () => {
      const provisioned = await dialect.provision(3);
      for (const [i, name] of ['c_parents', 'c_albums', 'c_profiles'].entries()) {
        const config = provisioned.configs[i]! as { url: string };
        ConnectionManager.configure(name, config);
        databases[name] = new URL(config.url).pathname.slice(1);
      }
      await createMusicTables(ConnectionManager.get('c_parents').knex, ['artists']);
      await createMusicTables(ConnectionManager.get('c_albums').knex, ['albums']);
      await createMusicTables(ConnectionManager.get('c_profiles').knex, ['profiles']);
      await ConnectionManager.get('c_parents').knex('artists').insert([{ id: 1, name: 'Ann' }, { id: 2, name: 'Bob' }]);
      await ConnectionManager.get('c_albums').knex('albums').insert([{ id: 1, artist_id: 1, title: 'a1', year: 2001 }, { id: 2, artist_id: 2, title: 'b1', year: 2002 }]);
      await ConnectionManager.get('c_profiles').knex('profiles').insert([{ id: 1, artist_id: 2, bio: 'bob bio' }]);
      drop = async () => {
        await ConnectionManager.closeAll();
        await provisioned.drop();
      };
    });
    afterAll(() => drop());

    it('both relation queries wait on their servers at the same time', async () => {
      const releases = [await holdLock('c_albums', 'albums'), await holdLock('c_profiles', 'profiles')];
      let running: Promise<CArtist[]> | undefined;
      try {
        running = CArtist.query().preload('albums').preload('profile').orderBy('id').all();
        running.catch(() => undefined);
        await waitFor(async () => (await waiting('c_albums', 'albums')) === 1 && (await waiting('c_profiles', 'profiles')) === 1, 'both sibling preloads to wait on their locks at once');
      } finally {
        for (const release of releases) await release();
      }
      const artists = await running;
      expect(artists.map((a) => [a.albums.map((al) => al.title), a.profile?.bio ?? null])).toEqual([[['a1'], null], [['b1'], 'bob bio']]);
    });

    it('inside a transaction on one connection, its lane sees the uncommitted rows while the other runs elsewhere', async () => {
      await ConnectionManager.transaction('c_albums', async () => {
        await CAlbum.create({ id: 3, artistId: 1, title: 'a2', year: 2003 });
        const artists = await CArtist.query().preload('albums', (q) => q.orderBy('id')).preload('profile').orderBy('id');
        expect(artists.map((a) => a.albums.map((al) => al.title))).toEqual([['a1', 'a2'], ['b1']]);
        throw new Error('roll back');
      }).catch((e: Error) => expect(e.message).toBe('roll back'));
      expect(await CAlbum.count()).toBe(2);
    });

    it('a failing sibling rejects only after the others have finished', async () => {
      const profiles = () => ConnectionManager.status('c_profiles');
      const attempted = profiles().statements.misses;
      const release = await holdLock('c_albums', 'albums');
      let settled = false;
      let running: Promise<unknown> | undefined;
      try {
        running = CArtist.query().preload('albums').preload('missing').all().finally(() => (settled = true));
        running.catch(() => undefined);
        // The albums query waits on its lock, and the query of the missing table has run, failed and given its session back.
        await waitFor(async () => (await waiting('c_albums', 'albums')) === 1 && profiles().statements.misses > attempted && profiles().pool?.used === 0, 'the albums preload to wait while its sibling has failed');
        await new Promise((resolve) => setImmediate(resolve));
        expect(settled).toBe(false);
      } finally {
        await release();
      }
      await expect(running).rejects.toBeInstanceOf(QueryError);
      // Both pools are free again: nothing was left running.
      expect((await CArtist.query().preload('albums').preload('profile')).length).toBe(2);
    });
  });
}

