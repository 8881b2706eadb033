import { ActiveRecord, BelongsTo, Column, HasMany, HasOne, ManyToMany, Model, PrimaryKey } from '../../src/index.js';

// Every model on connection "music": the single-connection relation suites.

@Model({ connection: 'music', table: 'labels' })
export class Label extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @HasMany(() => Artist) artists!: Artist[];
}

@Model({ connection: 'music', table: 'artists' })
export class Artist extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'integer' }) labelId!: number | null;
  @HasMany(() => Album) albums!: Album[];
  @HasOne(() => Profile) profile!: Profile | null;
  @BelongsTo(() => Label) label!: Label | null;
}

@Model({ connection: 'music', table: 'profiles' })
export class Profile extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) artistId!: number;
  @Column({ type: 'string' }) bio!: string;
}

@Model({ connection: 'music', table: 'albums' })
export class Album extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) artistId!: number | null;
  @Column({ type: 'string' }) title!: string;
  @Column({ type: 'integer' }) year!: number;
  @BelongsTo(() => Artist) artist!: Artist | null;
  @HasMany(() => Track) tracks!: Track[];
}

@Model({ connection: 'music', table: 'tracks' })
export class Track extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) albumId!: number;
  @Column({ type: 'string' }) title!: string;
  @BelongsTo(() => Album) album!: Album | null;
}

@Model({ connection: 'music', table: 'playlists' })
export class Playlist extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @ManyToMany(() => Track, { pivotTable: 'playlist_track', pivotColumns: ['position'] }) tracks!: Track[];
}
