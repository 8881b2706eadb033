import { ActiveRecord, Column, HasMany, Model, PrimaryKey } from 'polyrecord';
import { T } from './data.js';

/** The connection of the parents' database, and of the second database that holds R2's children. */
export const REL_CONNECTION = 'bench-rel';
export const REL_SECOND_CONNECTION = 'bench-rel-second';

@Model({ connection: REL_CONNECTION, table: T.notes })
export class RelNote extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) itemId!: number;
  @Column({ type: 'string' }) body!: string;
}

@Model({ connection: REL_CONNECTION, table: T.items })
export class RelItem extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) childId!: number;
  @Column({ type: 'string' }) label!: string;
  @HasMany(() => RelNote, { foreignKey: 'itemId' }) notes!: RelNote[];
}

@Model({ connection: REL_CONNECTION, table: T.children })
export class RelChild extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) parentId!: number;
  @Column({ type: 'string' }) title!: string;
  @HasMany(() => RelItem, { foreignKey: 'childId' }) items!: RelItem[];
}

@Model({ connection: REL_CONNECTION, table: T.parents })
export class RelParent extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @HasMany(() => RelChild, { foreignKey: 'parentId' }) children!: RelChild[];
}

/** R2: the children table of the second database. */
@Model({ connection: REL_SECOND_CONNECTION, table: T.children })
export class RelRemoteChild extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) parentId!: number;
  @Column({ type: 'string' }) title!: string;
}

/** R2: the parents, whose children live on the other connection. */
@Model({ connection: REL_CONNECTION, table: T.parents })
export class RelRemoteParent extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @HasMany(() => RelRemoteChild, { foreignKey: 'parentId' }) children!: RelRemoteChild[];
}

@Model({ connection: REL_CONNECTION, table: T.events })
export class RelEvent extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) parentId!: number;
  @Column({ type: 'integer' }) amount!: number;
}
