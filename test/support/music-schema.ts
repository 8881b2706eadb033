import type { Knex } from 'knex';

/** The music schema of the relation suites: each table can be created on its own connection. */
export const MUSIC_TABLES: Record<string, (t: Knex.CreateTableBuilder) => void> = {
  labels: (t) => {
    t.increments('id');
    t.string('name', 64);
  },
  artists: (t) => {
    t.increments('id');
    t.string('name', 64);
    t.integer('label_id').nullable();
  },
  profiles: (t) => {
    t.increments('id');
    t.integer('artist_id');
    t.string('bio', 64);
  },
  albums: (t) => {
    t.increments('id');
    t.integer('artist_id').nullable();
    t.string('title', 64);
    t.integer('year');
  },
  tracks: (t) => {
    t.increments('id');
    t.integer('album_id');
    t.string('title', 64);
  },
  playlists: (t) => {
    t.increments('id');
    t.string('name', 64);
  },
  playlist_track: (t) => {
    t.integer('playlist_id');
    t.integer('track_id');
    t.integer('position');
  },
};

export async function createMusicTables(knex: Knex, tables: readonly string[] = Object.keys(MUSIC_TABLES)): Promise<void> {
  for (const table of tables) {
    await knex.schema.dropTableIfExists(table);
    await knex.schema.createTable(table, MUSIC_TABLES[table]!);
  }
}
