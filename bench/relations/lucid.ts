import { AppFactory } from '@adonisjs/core/factories/app';
import { Emitter } from '@adonisjs/core/events';
import { Logger } from '@adonisjs/core/logger';
import { Database } from '@adonisjs/lucid/database';
import { BaseModel, column, hasMany } from '@adonisjs/lucid/orm';
import type { HasMany } from '@adonisjs/lucid/types/relations';
import type { BenchTarget } from '../targets.js';
import { T } from './data.js';
import type { RelationContender } from './contender.js';

class LucidChild extends BaseModel {
  static override table = T.children;
  @column({ isPrimary: true }) declare id: number;
  @column() declare parentId: number;
  @column() declare title: string;
}

class LucidParent extends BaseModel {
  static override table = T.parents;
  @column({ isPrimary: true }) declare id: number;
  @column() declare name: string;
  @hasMany(() => LucidChild, { foreignKey: 'parentId' }) declare children: HasMany<typeof LucidChild>;
}

/**
 * AdonisJS Lucid 21 (`preload`, its separate-queries eager loading, and `withCount`), run
 * outside an Adonis application: a `Database` built from core's emitter and a disabled
 * logger, as Lucid's own tests do. Like Objection it has no R2 (a preload runs on the
 * parent query's connection: Lucid #593/#734) and no in-memory join for R5.
 *
 * Its has-many preloader finds each parent's children by testing every child against every
 * parent (`isRelatedRow`: O(parents × children), 80% of a CPU profile of R1), so R1 takes
 * about two minutes per call here: it is timed once (`oneCall`), and R3 is not run at all
 * (10,000 × 20,000 + 20,000 × 40,000 tests per call, hours for twenty calls).
 */
export function openLucidRelations(main: BenchTarget): RelationContender {
  const app = new AppFactory().create(new URL('./', import.meta.url), () => undefined);
  const db = new Database(
    { connection: 'main', connections: { main: main.knexConfig as never } },
    new Logger({ enabled: false }),
    new Emitter(app),
  );
  BaseModel.useAdapter(db.modelAdapter());
  const parents = (limit: number) => LucidParent.query().where('id', '<=', limit).orderBy('id');
  return {
    name: 'lucid',
    oneCall: true,
    preload: async (limit) => (await parents(limit).preload('children')).reduce((sum, p) => sum + p.children.length, 0),
    async withCount() {
      const rows = await LucidParent.query().withCount('children');
      return rows.reduce((sum, row) => sum + Number(row.$extras.children_count), 0);
    },
    close: () => db.manager.closeAll(),
  };
}
