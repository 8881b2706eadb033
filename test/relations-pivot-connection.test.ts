import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, CrossConnectionLimitError, ManyToMany, Model, PrimaryKey } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { Track } from './support/music-models.js';
import { createMusicTables } from './support/music-schema.js';
import { countQueries } from './support/query-count.js';

// A many-to-many whose pivot table lives on another database than its parents and related
// rows (`pivotConnection`): `related()` reads the pivot there first, then the related rows.

@Model({ connection: 'music', table: 'playlists' })
class SplitPlaylist extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @ManyToMany(() => Track, { pivotTable: 'playlist_track', pivotForeignKey: 'playlist_id', pivotRelatedKey: 'track_id', pivotColumns: ['position'], pivotConnection: 'music_pivots' }) tracks!: Track[];
}

const ids = (records: readonly { id: number }[]) => records.map((r) => r.id);

describeEachDialect('relations: related() of a many-to-many whose pivot is on another connection', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(2);
    ConnectionManager.configure('music', provisioned.configs[0]!);
    ConnectionManager.configure('music_pivots', provisioned.configs[1]!);
    const music = ConnectionManager.get('music').knex;
    const pivots = ConnectionManager.get('music_pivots').knex;
    await createMusicTables(music, ['playlists', 'tracks']);
    await createMusicTables(pivots, ['playlist_track']);
    await music('playlists').insert([{ id: 1, name: 'P1' }, { id: 2, name: 'P2' }, { id: 3, name: 'P3' }]);
    await music('tracks').insert([{ id: 1, album_id: 1, title: 't1' }, { id: 2, album_id: 1, title: 't2' }, { id: 3, album_id: 2, title: 't3' }]);
    await pivots('playlist_track').insert([{ playlist_id: 1, track_id: 1, position: 1 }, { playlist_id: 1, track_id: 3, position: 2 }, { playlist_id: 2, track_id: 1, position: 9 }]);
    drop = async () => {
      await ConnectionManager.closeAll();
      await provisioned.drop();
    };
  });
  afterAll(() => drop());

  it('reads, refines, counts and checks existence like any related query', async () => {
    const p1 = (await SplitPlaylist.find(1))!;
    expect(ids(await p1.related('tracks').orderBy('id'))).toEqual([1, 3]);
    expect(ids(await p1.related('tracks').where('title', 't3'))).toEqual([3]);
    expect(await p1.related('tracks').count()).toBe(2);
    expect(await p1.related('tracks').where('title', 't2').exists()).toBe(false);
    expect((await p1.related('tracks').orderBy('id', 'desc').first())!.title).toBe('t3');
    expect(await p1.related('tracks').orderBy('id').pluck('title')).toEqual(['t1', 't3']);
    expect(await (await SplitPlaylist.find(3))!.related('tracks')).toEqual([]);
    expect(await new SplitPlaylist().related('tracks')).toEqual([]);
  });

  it('sends two statements: the pivot keys on the pivot connection, then the related rows', async () => {
    const p1 = (await SplitPlaylist.find(1))!;
    const { count, sql, result } = await countQueries(() => p1.related('tracks').orderBy('id'));
    expect(ids(result)).toEqual([1, 3]);
    // Without query events only the related query is counted (pivot reads are not model statements).
    expect(count).toBe(2);
    expect(sql[0]).toContain('playlist_track');
  });

  it('refuses to carry more keys than the limit, per query and per manager', async () => {
    const p1 = (await SplitPlaylist.find(1))!;
    const error = await p1.related('tracks').crossConnectionKeyLimit(1).all().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossConnectionLimitError);
    expect(error).toMatchObject({ model: 'SplitPlaylist', relation: 'tracks', count: 2, limit: 1 });
    await expect(p1.related('tracks').crossConnectionKeyLimit(1).count()).rejects.toBeInstanceOf(CrossConnectionLimitError);
    ConnectionManager.default.crossConnectionKeyLimit = 1;
    try {
      await expect(p1.related('tracks')).rejects.toMatchObject({ name: 'CrossConnectionLimitError', relation: 'tracks' });
    } finally {
      ConnectionManager.default.crossConnectionKeyLimit = 10_000;
    }
    expect(ids(await p1.related('tracks').crossConnectionKeyLimit(2).orderBy('id'))).toEqual([1, 3]);
  });

  it('sees pivot rows written in an open transaction on the pivot connection, and not after rollback', async () => {
    const p3 = (await SplitPlaylist.find(3))!;
    await ConnectionManager.transaction('music_pivots', async () => {
      await p3.related('tracks').attach({ 2: { position: 1 } });
      expect(ids(await p3.related('tracks'))).toEqual([2]);
      throw new Error('roll back');
    }).catch((e: Error) => expect(e.message).toBe('roll back'));
    expect(await p3.related('tracks')).toEqual([]);
  });

  it('refuses groupBy instead of dropping the pivot constraint', async () => {
    const p1 = (await SplitPlaylist.find(1))!;
    expect(() => p1.related('tracks').groupBy('albumId')).toThrow(/groupBy\(\)/);
  });
});
