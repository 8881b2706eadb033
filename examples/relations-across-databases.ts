/**
 * Relations across databases: one music schema spread over three connections, related with
 * decorators and loaded with nested, constrained preloads; withCount, whereHas, related()
 * and writes through relations, each relation query on its own database.
 *
 *   catalog  artists, playlists             a SQLite file
 *   media    albums, tracks                 PostgreSQL when POLYRECORD_PG_URL is set, else a SQLite file
 *   social   profiles, playlist_tracks      MySQL/MariaDB when POLYRECORD_MYSQL_URL is set, else a SQLite file
 *
 * On a server it creates tables example_rel_*_<pid> and drops them at the end. When query
 * events are available (`ConnectionManager.default.events.on('query', …)`), it prints how
 * many statements each step sent to each connection.
 *
 * Run: npm run build && npx tsc -p tsconfig.run.json && node .build/examples/relations-across-databases.js
 */
import type { Knex } from 'knex';
import { ActiveRecord, BelongsTo, Column, ConnectionManager, HasMany, HasOne, ManyToMany, Model, PrimaryKey } from 'polyrecord';
import { freshSqliteFile } from './support.js';

// Server tables carry the process id, so two runs at once (or a run during the test suite) never share them.
const table = (name: string) => `example_rel_${name}_${process.pid}`;

@Model({ connection: 'catalog', table: table('artists') })
class Artist extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  // Albums live on another database: the relation is declared the same way.
  @HasMany(() => Album, { foreignKey: 'artistId' }) albums!: Album[];
  @HasOne(() => Profile, { foreignKey: 'artistId' }) profile!: Profile | null;
}

@Model({ connection: 'media', table: table('albums') })
class Album extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) artistId!: number;
  @Column({ type: 'string' }) title!: string;
  @Column({ type: 'integer' }) year!: number;
  @BelongsTo(() => Artist, { foreignKey: 'artistId' }) artist!: Artist | null;
  @HasMany(() => Track, { foreignKey: 'albumId' }) tracks!: Track[];
}

@Model({ connection: 'media', table: table('tracks') })
class Track extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) albumId!: number;
  @Column({ type: 'integer' }) position!: number;
  @Column({ type: 'string' }) title!: string;
}

@Model({ connection: 'social', table: table('profiles') })
class Profile extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) artistId!: number;
  @Column({ type: 'string' }) bio!: string;
}

@Model({ connection: 'catalog', table: table('playlists') })
class Playlist extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  // Playlists on catalog, tracks on media, and the pivot table between them on social.
  @ManyToMany(() => Track, { pivotTable: table('playlist_tracks'), pivotForeignKey: 'playlist_id', pivotRelatedKey: 'track_id', pivotColumns: ['added_by'], pivotConnection: 'social' })
  tracks!: Track[];
}

// ---- setup --------------------------------------------------------------------

function configure(): void {
  ConnectionManager.configure('catalog', { driver: 'sqlite', database: freshSqliteFile('relations-catalog') });
  const pg = process.env.POLYRECORD_PG_URL;
  const mysql = process.env.POLYRECORD_MYSQL_URL;
  ConnectionManager.configure('media', pg ? { url: pg } : { driver: 'sqlite', database: freshSqliteFile('relations-media') });
  ConnectionManager.configure('social', mysql ? { url: mysql } : { driver: 'sqlite', database: freshSqliteFile('relations-social') });
  const where = (name: string) => ConnectionManager.get(name).driver;
  console.log(`catalog on ${where('catalog')}, media on ${where('media')}, social on ${where('social')}${pg && mysql ? '' : ' (set POLYRECORD_PG_URL / POLYRECORD_MYSQL_URL to use the servers)'}`);
}

const SCHEMA: Record<string, [connection: string, build: (t: Knex.CreateTableBuilder) => void]> = {
  artists: ['catalog', (t) => (t.increments('id'), t.string('name', 64))],
  playlists: ['catalog', (t) => (t.increments('id'), t.string('name', 64))],
  albums: ['media', (t) => (t.increments('id'), t.integer('artist_id'), t.string('title', 64), t.integer('year'))],
  tracks: ['media', (t) => (t.increments('id'), t.integer('album_id'), t.integer('position'), t.string('title', 64))],
  profiles: ['social', (t) => (t.increments('id'), t.integer('artist_id'), t.string('bio', 128))],
  playlist_tracks: ['social', (t) => (t.integer('playlist_id'), t.integer('track_id'), t.string('added_by', 32))],
};

async function createTables(): Promise<void> {
  for (const [name, [connection, build]] of Object.entries(SCHEMA)) await ConnectionManager.get(connection).knex.schema.createTable(table(name), build);
}

async function dropTables(): Promise<void> {
  for (const [name, [connection]] of Object.entries(SCHEMA)) await ConnectionManager.get(connection).knex.schema.dropTableIfExists(table(name));
}

// Albums and tracks get their ids from the database (1, 2, … in insertion order, on a fresh table).
async function seed(): Promise<void> {
  await Artist.bulkInsert([{ id: 1, name: 'Ada' }, { id: 2, name: 'Bix' }, { id: 3, name: 'Cleo' }]);
  await Profile.bulkInsert([{ artistId: 1, bio: 'Plays the modular synth.' }, { artistId: 3, bio: 'Sings in four languages.' }]);
  await Album.bulkInsert([
    { artistId: 1, title: 'Early Works', year: 1998 },
    { artistId: 1, title: 'Blue Engines', year: 2004 },
    { artistId: 1, title: 'Later', year: 2019 },
    { artistId: 2, title: 'Bix Live', year: 2011 },
  ]);
  await Track.bulkInsert([
    { albumId: 2, position: 2, title: 'Blue Hour' },
    { albumId: 2, position: 1, title: 'Pistons' },
    { albumId: 3, position: 1, title: 'After' },
    { albumId: 4, position: 1, title: 'Blue Room (live)' },
    { albumId: 1, position: 1, title: 'First' },
  ]);
  await Playlist.bulkInsert([{ id: 1, name: 'Blue' }, { id: 2, name: 'Empty' }]);
}

// ---- counting statements through query events, when this version has them ------------

interface QueryEvent {
  readonly connection: string;
}
const sent = new Map<string, number>();
let eventsSeen = false;

function listenToQueries(): void {
  const events = ConnectionManager.default.events as unknown as { on?(event: 'query', listener: (e: QueryEvent) => void): unknown };
  events.on?.('query', (e) => {
    eventsSeen = true;
    sent.set(e.connection, (sent.get(e.connection) ?? 0) + 1);
  });
}

/** Runs one step and prints the statements it sent per connection (or nothing without query events). */
async function step<T>(title: string, fn: () => Promise<T>): Promise<T> {
  console.log(`\n${title}`);
  sent.clear();
  const result = await fn();
  if (eventsSeen) console.log(`  statements: ${[...sent].map(([connection, n]) => `${connection} ${n}`).join(', ') || 'none'}`);
  return result;
}

// ---- the tour -------------------------------------------------------------------

async function tour(): Promise<void> {
  // Nested, constrained preloads: one query per relation per level, each on its own database
  // (albums and profiles, siblings on different connections, are read at the same time).
  const artists = await step('Artists with their albums since 2000 (and their tracks in order) and profile:', () =>
    Artist.query()
      .preload('albums', (albums) => albums.where('year', '>=', 2000).orderBy('year').preload('tracks', (tracks) => tracks.orderBy('position')))
      .preload('profile')
      .orderBy('name'),
  );
  for (const artist of artists) {
    console.log(`  ${artist.name}: ${artist.profile?.bio ?? '(no profile)'}`);
    for (const album of artist.albums) console.log(`    ${album.year} ${album.title}: ${album.tracks.map((t) => t.title).join(', ') || '(no tracks)'}`);
  }

  // A dotted path loads every level; belongs-to goes the other way, back to catalog.
  const albums = await step('Albums with their artist (media -> catalog):', () => Album.query().preload('artist').orderBy('id'));
  console.log(`  ${albums.map((a) => `${a.title} by ${a.artist?.name}`).join('; ')}`);

  // Counts and filters across connections: the related keys are read there, then IN here.
  const counted = await step('withCount across databases:', () => Artist.query().withCount('albums').orderBy('id'));
  console.log(`  ${counted.map((a) => `${a.name} ${a.$counts.albums}`).join(', ')}`);
  const blue = await step('whereHas: artists with an album holding a track named "Blue…":', () => Artist.whereHas('albums', (q) => q.whereHas('tracks', (t) => t.where('title', 'like', 'Blue%'))).orderBy('id'));
  console.log(`  ${blue.map((a) => a.name).join(', ')}`);
  const silent = await step('whereDoesntHave: artists without albums:', () => Artist.whereDoesntHave('albums'));
  console.log(`  ${silent.map((a) => a.name).join(', ')}`);

  // Writes through relations: the foreign key is set for you; pivot rows go to the pivot's database.
  const cleo = (await Artist.findOrFail(3)) as Artist;
  const debut = await step('Cleo records an album (written on media, artistId set):', () => cleo.related('albums').create({ title: 'Polyglot', year: 2024 }));
  console.log(`  album ${debut.title} has artistId ${debut.artistId}; Cleo now has ${await cleo.related('albums').count()} album(s)`);
  const playlist = (await Playlist.findOrFail(1)) as Playlist;
  await step('attach tracks to the "Blue" playlist (pivot rows written on social):', () => playlist.related('tracks').attach({ 1: { added_by: 'ada' }, 4: { added_by: 'bix' } }));
  const synced = await step('sync it to tracks 1 and 2:', () => playlist.related('tracks').sync({ 1: {}, 2: { added_by: 'cleo' } }));
  console.log(`  attached ${JSON.stringify(synced.attached)}, detached ${JSON.stringify(synced.detached)}`);

  // Many-to-many across three databases: playlists (catalog), pivot (social), tracks (media).
  const playlists = await step('Playlists with their tracks, and who added each:', () => Playlist.query().preload('tracks', (q) => q.orderBy('id')).orderBy('id'));
  for (const p of playlists) console.log(`  ${p.name}: ${p.tracks.map((t) => `${t.title} (added by ${t.$pivot?.added_by})`).join(', ') || '(empty)'}`);
  const some = await step('related() reads the pivot on social, then the tracks on media:', () => playlist.related('tracks').where('title', 'like', 'P%'));
  console.log(`  ${some.map((t) => t.title).join(', ')}`);

  // toJSON includes what was loaded, nothing else.
  const ada = await Artist.query().where('id', 1).preload('albums', (q) => q.where('year', '>', 2010)).withCount('albums').first();
  console.log(`\nAda as JSON: ${JSON.stringify(ada)}`);
}

async function main(): Promise<void> {
  configure();
  listenToQueries();
  try {
    await createTables();
    await seed();
    await tour();
  } finally {
    await dropTables();
    await ConnectionManager.closeAll();
  }
  if (!eventsSeen) console.log('\n(this version of polyrecord has no query events: statement counts not shown)');
}

await main();
