import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActiveRecord, BelongsTo, Column, ConnectionManager, CrossConnectionLimitError, CrossDbTransaction, FileLog, HasMany, ManyToMany, Model, PrimaryKey } from '../src/index.js';
import { DIALECTS, type DialectFixture } from './support/dialects.js';
import { createMusicTables } from './support/music-schema.js';
import { countQueries } from './support/query-count.js';

// Parents on one database, children on a second, the pivot on a third: SQLite, PostgreSQL
// and MariaDB when their URLs are set, else three SQLite files.

@Model({ connection: 'x_parents', table: 'artists' })
class XArtist extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @HasMany(() => XAlbum, { foreignKey: 'artistId' }) albums!: XAlbum[];
}

@Model({ connection: 'x_children', table: 'albums' })
class XAlbum extends ActiveRecord {
  @PrimaryKey({ type: 'bigint' }) id!: bigint;
  @Column({ type: 'bigint' }) artistId!: bigint | null;
  @Column({ type: 'string' }) title!: string;
  @Column({ type: 'integer' }) year!: number;
  @BelongsTo(() => XArtist, { foreignKey: 'artistId' }) artist!: XArtist | null;
  @HasMany(() => XTrack, { foreignKey: 'albumId' }) tracks!: XTrack[];
}

@Model({ connection: 'x_children', table: 'tracks' })
class XTrack extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) albumId!: number;
  @Column({ type: 'string' }) title!: string;
}

@Model({ connection: 'x_parents', table: 'playlists' })
class XPlaylist extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @ManyToMany(() => XTrack, { pivotTable: 'playlist_track', pivotForeignKey: 'playlist_id', pivotRelatedKey: 'track_id', pivotColumns: ['position'], pivotConnection: 'x_pivots' }) tracks!: XTrack[];
}

const sqlite = DIALECTS[0]!;
const servers = DIALECTS.slice(1);
const layout: DialectFixture[] = [sqlite, servers[0] ?? sqlite, servers[1] ?? sqlite];

describe(`relations across connections [${layout.map((d) => d.driver).join(' / ')}]`, () => {
  const drops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    for (const [i, name] of ['x_parents', 'x_children', 'x_pivots'].entries()) {
      const provisioned = await layout[i]!.provision(1);
      drops.push(provisioned.drop);
      ConnectionManager.configure(name, provisioned.configs[0]!);
    }
    const p = ConnectionManager.get('x_parents').knex;
    const c = ConnectionManager.get('x_children').knex;
    const v = ConnectionManager.get('x_pivots').knex;
    await createMusicTables(p, ['artists', 'playlists']);
    await c.schema.createTable('albums', (t) => {
      t.bigIncrements('id');
      t.bigInteger('artist_id').nullable();
      t.string('title', 64);
      t.integer('year');
    });
    await createMusicTables(c, ['tracks']);
    await createMusicTables(v, ['playlist_track']);
    await p('artists').insert([{ id: 1, name: 'Ann' }, { id: 2, name: 'Bob' }, { id: 3, name: 'Cid' }]);
    await c('albums').insert([{ id: 1, artist_id: 1, title: 'a1', year: 2001 }, { id: 2, artist_id: 1, title: 'a2', year: 1999 }, { id: 3, artist_id: 2, title: 'b1', year: 2010 }, { id: 4, artist_id: null, title: 'orphan', year: 2000 }]);
    await c('tracks').insert([{ id: 1, album_id: 1, title: 't1' }, { id: 2, album_id: 1, title: 't2' }, { id: 3, album_id: 3, title: 't3' }]);
    await p('playlists').insert([{ id: 1, name: 'P1' }, { id: 2, name: 'P2' }]);
    await v('playlist_track').insert([{ playlist_id: 1, track_id: 1, position: 1 }, { playlist_id: 1, track_id: 3, position: 2 }, { playlist_id: 2, track_id: 1, position: 5 }]);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });

  it('preloads has-many and belongs-to across databases, bigint keys matching integer keys', async () => {
    const { count, result } = await countQueries(() => XArtist.query().preload('albums', (q) => q.orderBy('id').preload('tracks')).orderBy('id'));
    expect(count).toBe(3);
    expect(result.map((a) => a.albums.map((al) => al.title))).toEqual([['a1', 'a2'], ['b1'], []]);
    expect(result[0]!.albums[0]!.tracks.map((t) => t.title)).toEqual(['t1', 't2']);
    expect(result[0]!.albums[0]!.connectionName).toBe('x_children');
    const albums = await XAlbum.query().preload('artist').orderBy('id');
    expect(albums.map((a) => a.artist?.name ?? null)).toEqual(['Ann', 'Ann', 'Bob', null]);
  });

  it('preloads many-to-many with the pivot on a third database', async () => {
    const { result, count } = await countQueries(() => XPlaylist.preload('tracks', (q) => q.orderBy('id')).orderBy('id'));
    expect(count).toBe(3);
    expect(result.map((p) => p.tracks.map((t) => [t.title, t.$pivot?.position]))).toEqual([[['t1', 1], ['t3', 2]], [['t1', 5]]]);
  });

  it('counts and filters as "related keys there, then IN here"', async () => {
    const artists = await XArtist.withCount('albums').withCount('albums', (q) => q.where('year', '>', 2000)).orderBy('id');
    expect(artists.map((a) => a.$counts.albums)).toEqual([1, 1, 0]);
    expect((await XArtist.withCount('albums').orderBy('id')).map((a) => a.$counts.albums)).toEqual([2, 1, 0]);
    expect((await XPlaylist.withCount('tracks').orderBy('id')).map((p) => p.$counts.tracks)).toEqual([2, 1]);
    expect((await XArtist.whereHas('albums', (q) => q.where('year', '>', 2005))).map((a) => a.name)).toEqual(['Bob']);
    expect((await XArtist.whereDoesntHave('albums').orderBy('id')).map((a) => a.name)).toEqual(['Cid']);
    expect((await XPlaylist.whereHas('tracks', (q) => q.where('title', 't3'))).map((p) => p.name)).toEqual(['P1']);
    expect((await XAlbum.whereHas('artist', (q) => q.where('name', 'Ann')).orderBy('id')).map((a) => a.title)).toEqual(['a1', 'a2']);
  });

  it('refuses to carry more keys than the limit, per query and per manager', async () => {
    const error = await XArtist.whereHas('albums').crossConnectionKeyLimit(1).all().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossConnectionLimitError);
    expect(error).toMatchObject({ relation: 'albums', count: 2, limit: 1 });
    await expect(XArtist.withCount('albums').crossConnectionKeyLimit(2)).rejects.toBeInstanceOf(CrossConnectionLimitError);
    ConnectionManager.default.crossConnectionKeyLimit = 1;
    try {
      await expect(XArtist.whereHas('albums')).rejects.toMatchObject({ name: 'CrossConnectionLimitError', relation: 'albums' });
    } finally {
      ConnectionManager.default.crossConnectionKeyLimit = 10_000;
    }
    expect(await XArtist.whereHas('albums').crossConnectionKeyLimit(2).count()).toBe(2);
  });

  it('related() of a many-to-many reads the pivot on its own database, then the tracks on theirs', async () => {
    const p1 = (await XPlaylist.find(1))!;
    const { result, count } = await countQueries(() => p1.related('tracks').orderBy('id'));
    expect(result.map((t) => t.title)).toEqual(['t1', 't3']);
    expect(count).toBe(2);
    expect(await p1.related('tracks').where('title', 't3').count()).toBe(1);
    await expect(p1.related('tracks').crossConnectionKeyLimit(1)).rejects.toMatchObject({ name: 'CrossConnectionLimitError', model: 'XPlaylist', relation: 'tracks', count: 2, limit: 1 });
  });

  it('attach / detach / sync write the pivot on its own database', async () => {
    const p2 = (await XPlaylist.find(2))!;
    await p2.related('tracks').attach({ 2: { position: 7 } });
    expect((await p2.load('tracks', (q) => q.orderBy('id'))).tracks.map((t) => [t.id, t.$pivot?.position])).toEqual([[1, 5], [2, 7]]);
    expect(await p2.related('tracks').sync([2, 3])).toEqual({ attached: [3], detached: [1] });
    expect((await p2.load('tracks', (q) => q.orderBy('id'))).tracks.map((t) => t.id)).toEqual([2, 3]);
    expect(await p2.related('tracks').detach([3])).toBe(1);
    expect(await p2.related('tracks').detach()).toBe(1);
    expect(await ConnectionManager.get('x_pivots').knex('playlist_track').where('playlist_id', 2).count('* as n')).toEqual([{ n: expect.anything() }]);
    expect((await p2.load('tracks')).tracks).toEqual([]);
  });

  it.skipIf(servers.length < 2)('inside CrossDbTransaction.run every relation query joins its branch', async () => {
    const log = new FileLog({ path: join(mkdtempSync(join(tmpdir(), 'polyrecord-rel-')), 'tx.log') });
    await CrossDbTransaction.run(async () => {
      const cid = (await XArtist.find(3))!;
      await cid.related('albums').create({ id: 10n, title: 'c1', year: 2020 });
      await XArtist.create({ id: 4, name: 'Dee' });
      const loaded = await XArtist.whereIn('id', [3, 4]).preload('albums').orderBy('id');
      expect(loaded.map((a) => a.albums.map((al) => al.title))).toEqual([['c1'], []]);
      expect((await XArtist.whereHas('albums').orderBy('id')).map((a) => a.id)).toEqual([1, 2, 3]);
      throw new Error('roll back');
    }, { log }).catch((e: Error) => expect(e.message).toBe('roll back'));
    expect(await XAlbum.where('title', 'c1').count()).toBe(0);
  });
});
