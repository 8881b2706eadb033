import { ActiveRecord, HasMany, Model, PrimaryKey } from '../../src/index.js';
import { Album, Artist, Profile } from './music-models.js';

@Model({ connection: 'music', table: 'artists' })
export class BadKey extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @HasMany(() => Album, { foreignKey: 'writerId' }) albums!: Album[];
}

/** A subclass: inherits Artist's relations and adds one. */
@Model({ connection: 'music', table: 'artists' })
export class Headliner extends Artist {
  @HasMany(() => Profile) fans!: Profile[];
}
