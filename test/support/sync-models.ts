import { ActiveRecord, Column, ConnectionManager, ensureOutboxTable, Model, Outbox, PrimaryKey, SyncTo, UpdatedAt, type ConnectionConfig } from '../../src/index.js';
import type { Knex } from 'knex';
import type { DialectFixture } from './dialects.js';

/** The analytics copy of a member, on connection `dst`. */
@Model({ connection: 'dst', table: 'member_copies' })
export class MemberCopy extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) memberId!: number;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'integer' }) visits!: number;
}

/** A member on connection `src`, with an outbox and a real-time copy on `dst`. */
@Outbox()
@SyncTo({ connection: 'dst', model: MemberCopy, map: (m: Member) => ({ memberId: m.id, email: m.email, visits: m.visits }), conflictKeys: ['memberId'], delete: true })
@Model({ connection: 'src', table: 'members' })
export class Member extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'integer' }) visits!: number;
  @UpdatedAt() updatedAt!: Date;
}

export async function createMemberTables(src: Knex, dst: Knex): Promise<void> {
  await src.schema.createTable('members', (t) => {
    t.increments('id');
    t.string('email', 191);
    t.integer('visits');
    t.datetime('updated_at', { precision: 3 });
  });
  await dst.schema.createTable('member_copies', (t) => {
    t.increments('id');
    t.integer('member_id').unique();
    t.string('email', 191);
    t.integer('visits');
  });
}

/** The knex of the member pair's source connection (`src`). */
export const pairSource = (): Knex => ConnectionManager.get('src').knex;
/** The knex of the member pair's target connection (`dst`). */
export const pairTarget = (): Knex => ConnectionManager.get('dst').knex;
/** A `count({ n: '*' })` query's number. */
export const countOf = async (query: Promise<Array<Record<string, unknown>>>): Promise<number> => Number((await query)[0]!.n);

/**
 * Two fresh databases of one dialect as connections `src` (members and their outbox) and
 * `dst` (the copies, and a `deliveries` table where a test's handler logs each event it
 * applies, with the member's key). Resolves with their configs and what drops them.
 */
export async function setUpMemberPair(dialect: DialectFixture): Promise<{ configs: ConnectionConfig[]; drop: () => Promise<void> }> {
  const provisioned = await dialect.provision(2);
  ConnectionManager.configure('src', provisioned.configs[0]!);
  ConnectionManager.configure('dst', provisioned.configs[1]!);
  await createMemberTables(ConnectionManager.get('src').knex, ConnectionManager.get('dst').knex);
  await ConnectionManager.get('dst').knex.schema.createTable('deliveries', (t) => {
    t.increments('id');
    t.bigInteger('event_id');
    t.string('member_key', 32);
  });
  await ensureOutboxTable('src');
  return provisioned;
}
