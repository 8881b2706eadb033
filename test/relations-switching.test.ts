import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, HasMany, Model, PrimaryKey } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { Album, Artist } from './support/music-models.js';
import { createMusicTables } from './support/music-schema.js';
import { countQueries } from './support/query-count.js';

// The connection rule of docs/relations.md, one test per row of its table.

/** Declared on "music" too, but with reviews declared on "reviews": another connection. */
@Model({ connection: 'reviews', table: 'albums' })
class Review extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) artistId!: number | null;
  @Column({ type: 'string' }) title!: string;
}

@Model({ connection: 'music', table: 'artists' })
class Critic extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @HasMany(() => Review, { foreignKey: 'artistId' }) reviews!: Review[];
}

const titles = (artist: { albums?: { title: string }[]; reviews?: { title: string }[] } | undefined) => (artist?.albums ?? artist?.reviews ?? []).map((a) => a.title);

describeEachDialect('relations: the connection rule', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(4);
    for (const [i, name] of ['music', 'music_eu', 'reviews', 'reviews_eu'].entries()) {
      ConnectionManager.configure(name, provisioned.configs[i]!);
      const knex = ConnectionManager.get(name).knex;
      await createMusicTables(knex, ['artists', 'albums', 'tracks']);
      await knex('artists').insert({ id: 1, name: `artist@${name}` });
      await knex('albums').insert({ artist_id: 1, title: `album@${name}`, year: 2000 });
    }
    drop = async () => {
      await ConnectionManager.closeAll();
      await provisioned.drop();
    };
  });
  afterAll(() => drop());

  it('row 1: same declared connection, no switch: both on the declared connection', async () => {
    expect(titles(await Artist.preload('albums').first() ?? undefined)).toEqual(['album@music']);
  });

  it('row 2: same declared connection, parent using(): children follow the parent', async () => {
    const artist = await Artist.using('music_eu').preload('albums', (q) => q.preload('tracks')).first();
    expect(titles(artist!)).toEqual(['album@music_eu']);
    expect(artist!.albums[0]!.connectionName).toBe('music_eu');
    expect(titles(await (await Artist.using('music_eu').find(1))!.load('albums'))).toEqual(['album@music_eu']);
    expect((await (await Artist.using('music_eu').find(1))!.related('albums')).map((a) => a.title)).toEqual(['album@music_eu']);
  });

  it('row 3: same declared connection, parent switched by usingConnection: children follow', async () => {
    const artist = await Artist.usingConnection('music_eu', () => Artist.preload('albums').first());
    expect(titles(artist!)).toEqual(['album@music_eu']);
  });

  it('row 4: withConnections remaps every level', async () => {
    const artist = await ConnectionManager.withConnections({ music: 'music_eu', reviews: 'reviews_eu' }, () => Critic.preload('reviews').first());
    expect(artist!.name).toBe('artist@music_eu');
    expect(titles(artist!)).toEqual(['album@reviews_eu']);
  });

  it('row 5: another declared connection: the related model stays on its own, whatever the parent uses', async () => {
    expect(titles(await Critic.using('music_eu').preload('reviews').first() ?? undefined)).toEqual(['album@reviews']);
  });

  it('row 6: another declared connection, related model switched by a scope: the scope wins', async () => {
    const critic = await Review.usingConnection('reviews_eu', () => Critic.preload('reviews').first());
    expect(titles(critic!)).toEqual(['album@reviews_eu']);
  });

  it('row 7: inside ConnectionManager.transaction a preload sees the uncommitted rows', async () => {
    await ConnectionManager.transaction('music', async () => {
      await (await Artist.find(1))!.related('albums').create({ title: 'uncommitted', year: 2024 });
      const artist = await Artist.preload('albums', (q) => q.orderBy('id')).withCount('albums').first();
      expect(titles(artist!)).toEqual(['album@music', 'uncommitted']);
      expect(artist!.$counts.albums).toBe(2);
      expect(await Artist.whereHas('albums', (q) => q.where('title', 'uncommitted')).count()).toBe(1);
      throw new Error('roll back');
    }).catch((e: Error) => expect(e.message).toBe('roll back'));
    expect(await Album.where('title', 'uncommitted').count()).toBe(0);
  });

  it('writes through relations: create sets the key, associate / dissociate set or clear it and save', async () => {
    const artist = (await Artist.using('music_eu').find(1))!;
    const album = await artist.related('albums').create({ title: 'new', year: 2025 });
    expect(album.artistId).toBe(1);
    expect(album.connectionName).toBe('music_eu');
    await album.related('artist').dissociate();
    expect(album.artist).toBeNull();
    expect((await Album.using('music_eu').find(album.id))!.artistId).toBeNull();
    await album.related('artist').associate(artist);
    expect(album.artist).toBe(artist);
    expect((await Album.using('music_eu').find(album.id))!.artistId).toBe(1);
    await album.destroy();
  });

  // Without query events the count comes from the statement cache, which does not see MariaDB's long key lists (bound into the text, unprepared).
  it('chunks the keys below the dialect\'s bind limit: one query per chunk', async () => {
    const limit = ConnectionManager.get('music').dialect.maxBindings;
    const knex = ConnectionManager.get('music').knex;
    await knex('albums').delete();
    await Album.bulkInsert(Array.from({ length: limit + 10 }, (_, i) => ({ id: i + 1, artistId: 1, title: `t${i}`, year: 2000 })));
    const albums = await Album.query().select('id', 'artistId').all();
    const { count } = await countQueries(() => Album.loadRelations(albums as Album[], 'tracks'));
    // Two chunks of album keys (the key list is above one statement's limit): two queries.
    expect(count).toBe(2);
    expect((albums as Album[]).every((a) => Array.isArray(a.tracks) && a.tracks.length === 0)).toBe(true);
  }, 120_000);
});
