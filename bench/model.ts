import { ActiveRecord, Column, Model, PrimaryKey } from 'polyrecord';
import { TABLE } from './database.js';

/** The connection name the bench configures for polyrecord. */
export const BENCH_CONNECTION = 'bench';

@Model({ connection: BENCH_CONNECTION, table: TABLE })
export class BenchUser extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'integer' }) score!: number;
  @Column({ type: 'boolean' }) active!: boolean;
  @Column({ type: 'datetime' }) createdAt!: Date;
}
