import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRecord as ActiveRecordBase, BelongsTo, Column, ConnectionManager, CrossConnectionLimitError, defineModel, HasMany, ModelDefinitionError, ModelQuery, PrimaryKey, RelationError, type ActiveRecord } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { Album, Artist, Label, Playlist, Profile, Track } from './support/music-models.js';
import { createMusicTables } from './support/music-schema.js';
import { countQueries } from './support/query-count.js';

async function seed(): Promise<void> {
  const knex = ConnectionManager.get('music').knex;
  await knex('labels').insert([{ id: 1, name: 'Blue Note' }, { id: 2, name: 'Empty' }]);
  await knex('artists').insert([{ id: 1, name: 'Ann', label_id: 1 }, { id: 2, name: 'Bob', label_id: null }, { id: 3, name: 'Cid', label_id: 1 }]);
  await knex('profiles').insert([{ id: 1, artist_id: 1, bio: 'ann bio' }]);
  await knex('albums').insert([
    { id: 1, artist_id: 1, title: 'a1', year: 2001 },
    { id: 2, artist_id: 1, title: 'a2', year: 1999 },
    { id: 3, artist_id: 2, title: 'b1', year: 2010 },
    { id: 4, artist_id: null, title: 'orphan', year: 2000 },
  ]);
  await knex('tracks').insert([{ id: 1, album_id: 1, title: 't1' }, { id: 2, album_id: 1, title: 't2' }, { id: 3, album_id: 3, title: 't3' }]);
  await knex('playlists').insert([{ id: 1, name: 'P1' }, { id: 2, name: 'P2' }, { id: 3, name: 'P3' }]);
  await knex('playlist_track').insert([{ playlist_id: 1, track_id: 1, position: 1 }, { playlist_id: 1, track_id: 3, position: 2 }, { playlist_id: 2, track_id: 1, position: 9 }]);
}

const ids = (records: readonly ActiveRecord[]) => records.map((r) => (r as unknown as { id: number }).id);

describeEachDialect('relations: loading', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    ConnectionManager.configure('music', provisioned.configs[0]!);
    await createMusicTables(ConnectionManager.get('music').knex);
    await seed();
    drop = async () => {
      await ConnectionManager.closeAll();
      await provisioned.drop();
    };
  });
  afterAll(() => drop());

  it('preloads every kind: has-many, has-one, belongs-to, many-to-many (with $pivot)', async () => {
    const artists = await Artist.query().preload('albums').preload('profile').preload('label').orderBy('id');
    expect(artists.map((a) => ids(a.albums))).toEqual([[1, 2], [3], []]);
    expect(artists.map((a) => a.profile?.bio ?? null)).toEqual(['ann bio', null, null]);
    expect(artists.map((a) => a.label?.name ?? null)).toEqual(['Blue Note', null, 'Blue Note']);
    const playlists = await Playlist.preload('tracks', (q) => q.orderBy('id')).orderBy('id');
    expect(playlists.map((p) => ids(p.tracks))).toEqual([[1, 3], [1], []]);
    expect(playlists[0]!.tracks.map((t) => t.$pivot?.position)).toEqual([1, 2]);
    expect(playlists[1]!.tracks[0]!.$pivot?.position).toBe(9);
    // A track in two playlists is two records, each with its own pivot row.
    expect(playlists[0]!.tracks[0]).not.toBe(playlists[1]!.tracks[0]);
    // ...and its own snapshot: a change to one is that one's change only.
    const [first, second] = [playlists[0]!.tracks[0]!, playlists[1]!.tracks[0]!];
    first.title = 'changed';
    expect([first.isDirty(), first.isDirty('title'), first.isDirty('albumId'), second.isDirty()]).toEqual([true, true, false, false]);
    first.title = 't1';
    expect(first.isDirty()).toBe(false);
  });

  it('issues one query per relation level, never one per parent', async () => {
    const { count, result } = await countQueries(() => Artist.query().preload('albums.tracks').preload('label').orderBy('id'));
    expect(count).toBe(4); // artists, albums, tracks, labels
    expect(result[0]!.albums[0]!.tracks.map((t) => t.title)).toEqual(['t1', 't2']);
    const many = await countQueries(() => Album.query().preload('artist'));
    expect(many.count).toBe(2);
  });

  it('a many-to-many preload adds one query for the pivot', async () => {
    const { count } = await countQueries(() => Playlist.preload('tracks'));
    expect(count).toBe(3);
  });

  it('constrains, nests through paths and callbacks, and merges repeated preloads', async () => {
    const [ann] = await Artist.where('id', 1).preload('albums', (q) => q.where('year', '>', 2000).preload('tracks', (t) => t.orderBy('id', 'desc')));
    expect(ids(ann!.albums)).toEqual([1]);
    expect(ids(ann!.albums[0]!.tracks)).toEqual([2, 1]);
    const [again] = await Artist.where('id', 1).preload('albums', (q) => q.orderBy('year')).preload('albums.tracks');
    expect(ids(again!.albums)).toEqual([2, 1]);
    expect(ids(again!.albums[1]!.tracks)).toEqual([1, 2]);
    const deep = await Label.where('id', 1).preload('artists.albums.tracks').first();
    expect(deep!.artists.flatMap((a) => a.albums.flatMap((al) => al.tracks.map((t) => t.title)))).toEqual(['t1', 't2']);
  });

  it('preloads on find, first, findOrFail, batch pages, loadRelations (rawQuery rows) and load()', async () => {
    expect(ids((await Artist.preload('albums').find(1))!.albums)).toEqual([1, 2]);
    expect((await Artist.preload('profile').findOrFail(1)).profile!.bio).toBe('ann bio');
    expect((await Artist.preload('albums').orderBy('id').first())!.albums).toHaveLength(2);
    const pages: number[][][] = [];
    for await (const page of Artist.preload('albums').batch(2)) pages.push(page.map((a) => ids(a.albums)));
    expect(pages).toEqual([[[1, 2], [3]], [[]]]);
    const raw = await Artist.rawQuery('select * from artists order by id');
    await Artist.loadRelations(raw, 'albums.tracks');
    expect(raw.map((a) => a.albums.length)).toEqual([2, 1, 0]);
    const bob = (await Artist.find(2))!;
    expect(bob.albums).toBeUndefined();
    await bob.load('albums.tracks');
    expect(bob.albums[0]!.tracks.map((t) => t.title)).toEqual(['t3']);
  });

  it('matches children to parents whose ids lie far apart, and many children to one parent, in the related query order', async () => {
    const knex = ConnectionManager.get('music').knex;
    await knex('artists').insert([{ id: 900_001, name: 'Far', label_id: null }, { id: 5_000_000, name: 'Farther', label_id: null }]);
    await knex('albums').insert([
      { id: 900_001, artist_id: 5_000_000, title: 'z1', year: 1990 },
      { id: 900_002, artist_id: 900_001, title: 'y1', year: 1991 },
      { id: 900_003, artist_id: 5_000_000, title: 'z2', year: 1992 },
      { id: 900_004, artist_id: 900_001, title: 'y2', year: 1993 },
      { id: 900_005, artist_id: 5_000_000, title: 'z3', year: 1994 },
      { id: 900_006, artist_id: 5_000_000, title: 'z4', year: 1995 },
      { id: 900_007, artist_id: 5_000_000, title: 'z5', year: 1996 },
    ]);
    try {
      const artists = await Artist.whereIn('id', [5_000_000, 900_001]).preload('albums', (q) => q.orderBy('year', 'desc')).orderBy('id');
      expect(artists.map((a) => [a.name, a.albums.map((al) => al.title)])).toEqual([
        ['Far', ['y2', 'y1']],
        ['Farther', ['z5', 'z4', 'z3', 'z2', 'z1']],
      ]);
      // One parent with many children: its key alone is looked up by position.
      const [farther] = await Artist.where('id', 5_000_000).preload('albums', (q) => q.orderBy('year', 'desc'));
      expect(farther!.albums.map((al) => al.title)).toEqual(['z5', 'z4', 'z3', 'z2', 'z1']);
    } finally {
      await knex('albums').where('id', '>=', 900_001).delete();
      await knex('artists').where('id', '>=', 900_001).delete();
    }
  });

  it('handles empty parents, null foreign keys and duplicate keys', async () => {
    expect(await Artist.where('id', 99).preload('albums')).toEqual([]);
    const albums = await Album.query().preload('artist').orderBy('id');
    expect(albums.map((a) => a.artist?.name ?? null)).toEqual(['Ann', 'Ann', 'Bob', null]);
    // Two albums of Ann: one query with Ann's key once, and each album gets Ann.
    expect(albums[0]!.artist).toBeTruthy();
    const twice = [(await Artist.find(1))!, (await Artist.find(1))!];
    await Artist.loadRelations(twice, 'albums');
    expect(twice.map((a) => ids(a.albums))).toEqual([[1, 2], [1, 2]]);
    expect(twice[0]!.albums).not.toBe(twice[1]!.albums);
  });

  it('related(name) is a constrained query of the related model', async () => {
    const ann = (await Artist.find(1))!;
    const query = ann.related('albums');
    expect(query).toBeInstanceOf(ModelQuery);
    expect(ids(await query.where('year', '<', 2000))).toEqual([2]);
    expect(await ann.related('albums').count()).toBe(2);
    expect(ids(await (await Playlist.find(1))!.related('tracks').orderBy('id'))).toEqual([1, 3]);
    expect((await (await Album.find(3))!.related('artist').first())!.name).toBe('Bob');
  });

  it('toJSON includes loaded relations recursively, counts and pivots, nothing unloaded', async () => {
    const ann = (await Artist.where('id', 1).preload('albums', (q) => q.where('id', 1).preload('tracks', (t) => t.where('id', 1))).withCount('albums').first())!;
    expect(JSON.parse(JSON.stringify(ann))).toEqual({
      id: 1,
      name: 'Ann',
      labelId: 1,
      albums: [{ id: 1, artistId: 1, title: 'a1', year: 2001, tracks: [{ id: 1, albumId: 1, title: 't1' }] }],
      $counts: { albums: 2 },
    });
    const p1 = (await Playlist.where('id', 2).preload('tracks').first())!;
    expect(p1.toJSON().tracks).toEqual([{ id: 1, albumId: 1, title: 't1', $pivot: { playlist_id: 2, track_id: 1, position: 9 } }]);
  });

  it('rejects bad input before any SQL with typed errors naming the model and its relations', async () => {
    const attempts: (() => unknown)[] = [
      () => Artist.preload('albmus' as never),
      () => Artist.preload('name.tracks' as never),
      () => Artist.preload('albums.title' as never),
      () => Artist.preload('albums', (() => 42) as never),
      () => Artist.preload('albums', (() => undefined) as never),
      () => Artist.preload('albums', ((q: ModelQuery<object>) => Track.query()) as never),
      () => Artist.withCount('nope' as never),
      () => Artist.whereHas('nope' as never),
    ];
    const { count } = await countQueries(async () => {
      for (const attempt of attempts) {
        let error: unknown;
        try {
          attempt();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(RelationError);
      }
    });
    expect(count).toBe(0);
    try {
      Artist.preload('albmus' as never);
    } catch (e) {
      expect((e as RelationError).model).toBe('Artist');
      expect((e as RelationError).known).toEqual(['albums', 'profile', 'label']);
      expect((e as Error).message).toContain('albmus');
    }
    const ann = (await Artist.find(1))!;
    await expect(ann.related('albums').attach([1] as never)).rejects.toBeInstanceOf(RelationError);
    await expect(Artist.loadRelations([ann], 'nope' as never)).rejects.toBeInstanceOf(RelationError);
  });

  it('counts with withCount and filters with whereHas / whereDoesntHave in one statement', async () => {
    const counted = await countQueries(() => Artist.withCount('albums').withCount('albums', (q) => q.where('year', '>', 2000)).orderBy('id'));
    expect(counted.count).toBe(1);
    expect(counted.result.map((a) => a.$counts.albums)).toEqual([1, 1, 0]);
    const plain = await Artist.withCount('albums').orderBy('id');
    expect(plain.map((a) => a.$counts.albums)).toEqual([2, 1, 0]);
    const playlists = await Playlist.withCount('tracks').orderBy('id');
    expect(playlists.map((p) => p.$counts.tracks)).toEqual([2, 1, 0]);
    const has = await countQueries(() => Artist.whereHas('albums', (q) => q.where('year', '>', 2005)).orderBy('id'));
    expect(has.count).toBe(1);
    expect(ids(has.result)).toEqual([2]);
    expect(ids(await Artist.whereDoesntHave('albums').orderBy('id'))).toEqual([3]);
    expect(ids(await Playlist.whereHas('tracks', (q) => q.where('title', 't3')))).toEqual([1]);
    expect(ids(await Album.whereHas('artist', (q) => q.where('name', 'Bob')))).toEqual([3]);
    expect(await Artist.whereHas('albums', (q) => q.whereHas('tracks')).count()).toBe(2);
    expect(ids(await Label.whereHas('artists', (q) => q.whereHas('albums', (a) => a.where('year', 1999))))).toEqual([1]);
  });

  it('createMany creates several related records through a has-many or many-to-many, and refuses other kinds', async () => {
    // Explicit ids: the seed wrote its own, so PostgreSQL's sequences still start at 1.
    const cid = (await Artist.find(3))!;
    const made = await cid.related('albums').createMany([{ id: 100, title: 'c1', year: 2020 }, { id: 101, title: 'c2', year: 2021 }]);
    expect(made.map((a) => [a.title, a.artistId])).toEqual([['c1', 3], ['c2', 3]]);
    expect(await cid.related('albums').orderBy('id').pluck('title')).toEqual(['c1', 'c2']);
    const p3 = (await Playlist.find(3))!;
    const tracks = await p3.related('tracks').createMany([{ id: 100, albumId: 3, title: 'n1' }, { id: 101, albumId: 3, title: 'n2' }]);
    expect(await p3.related('tracks').orderBy('id').pluck('id')).toEqual(tracks.map((t) => t.id));
    await expect(cid.related('profile').createMany([{ bio: 'x' }])).rejects.toBeInstanceOf(RelationError);
    await expect(cid.related('albums').createMany('x' as never)).rejects.toBeInstanceOf(RelationError);
    await p3.related('tracks').detach();
    await Track.whereIn('id', tracks.map((t) => t.id)).delete();
    await Album.whereIn('id', made.map((a) => a.id)).delete();
  });

  it('save links a new or loaded record through a has-many or many-to-many (no second pivot row), and refuses what it cannot link', async () => {
    const cid = (await Artist.find(3))!;
    const fresh = new Album();
    Object.assign(fresh, { id: 110, title: 's1', year: 2022 });
    expect(await cid.related('albums').save(fresh)).toBe(fresh);
    expect(fresh.artistId).toBe(3);
    const moved = await Album.create({ id: 111, artistId: 1, title: 's2', year: 2022 });
    await cid.related('albums').saveMany([moved]);
    expect((await Album.find(111))!.artistId).toBe(3);
    const p3 = (await Playlist.find(3))!;
    const track = (await Track.find(1))!;
    await p3.related('tracks').save(track);
    await p3.related('tracks').save(track);
    const links = await ConnectionManager.get('music').knex('playlist_track').where({ playlist_id: 3, track_id: 1 }).count({ n: '*' });
    expect(Number(links[0]!.n)).toBe(1);
    await expect(cid.related('albums').save({ title: 'x' } as never)).rejects.toBeInstanceOf(RelationError);
    await expect(cid.related('profile').saveMany([])).rejects.toBeInstanceOf(RelationError);
    const unsaved = new Artist();
    await expect(unsaved.related('albums').save(new Album())).rejects.toBeInstanceOf(RelationError);
    await p3.related('tracks').detach([1]);
    await Album.whereIn('id', [110, 111]).delete();
  });

  it('defineModel declares relations with its relations option', async () => {
    class JsAlbum extends ActiveRecordBase {}
    class JsArtist extends ActiveRecordBase {}
    defineModel(JsAlbum, { connection: 'music', table: 'albums', columns: { id: PrimaryKey({ type: 'integer' }), artistId: Column({ type: 'integer' }), title: Column({ type: 'string' }) }, relations: { artist: BelongsTo(() => JsArtist, { foreignKey: 'artistId' }) } });
    defineModel(JsArtist, { connection: 'music', table: 'artists', columns: { id: PrimaryKey({ type: 'integer' }), name: Column({ type: 'string' }) }, relations: { albums: HasMany(() => JsAlbum, { foreignKey: 'artistId' }) } });
    const [ann] = (await (JsArtist as unknown as typeof Artist).preload('albums').where('id', 1)) as unknown as { albums: { title: string }[] }[];
    expect(ann!.albums.map((a) => a.title)).toEqual(['a1', 'a2']);
    expect(() => defineModel(class X extends ActiveRecordBase {}, { connection: 'music', table: 'x', columns: {}, relations: { a: 'HasMany' as never } })).toThrow(ModelDefinitionError);
  });

  it('checks relation keys on first use with a ModelDefinitionError naming model, relation and key', async () => {
    const { BadKey } = await import('./support/bad-relation-model.js');
    expect(() => BadKey.preload('albums' as never)).toThrow(ModelDefinitionError);
    expect(() => BadKey.preload('albums' as never)).toThrow(/BadKey\.albums: foreignKey "writerId" is not a column property of Album/);
  });
});

describe('relation metadata', () => {
  it('lists relations in the model metadata and inherits them', async () => {
    const { modelMetadata } = await import('../src/index.js');
    expect([...modelMetadata(Artist)!.relations.keys()]).toEqual(['albums', 'profile', 'label']);
    const { Headliner } = await import('./support/bad-relation-model.js');
    expect([...modelMetadata(Headliner)!.relations.keys()]).toEqual(['albums', 'profile', 'label', 'fans']);
    expect([...modelMetadata(Artist)!.relations.keys()]).not.toContain('fans');
  });
  it('exports CrossConnectionLimitError', () => {
    expect(new CrossConnectionLimitError('Artist', 'albums', 12, 10).message).toContain('albums');
  });
});
