import { PolyrecordError } from '../errors.js';
import type { LifecycleParticipant, WriteContext } from '../model/lifecycle.js';
import { ownMeta, type ModelMeta } from '../model/metadata.js';
import { provideParticipantOption } from '../model/option-participants.js';
import { compiled, slot } from '../model/statement-compiler.js';
import type { ExecOptions } from '../connection/dialects/dialect.js';
import { runStatement } from '../model/target.js';
import { OUTBOX_TABLE } from './outbox-table.js';
import { toPayload } from './payload.js';

const PREPARE_AUTO: ExecOptions = { prepare: 'auto' };

/**
 * Writes one outbox row per create/update/destroy, through the write's own
 * transaction, so a rollback removes the change and its event together. The row's
 * `event_type` is what happened to the row: a soft delete or a restore is `'updated'`.
 */
const outboxParticipant: LifecycleParticipant = {
  transactional: true,
  async duringWrite(context: WriteContext): Promise<void> {
    const { meta, target } = context;
    if (!target.transaction) throw new PolyrecordError('E_OUTBOX', `outbox row for ${meta.name} must be written inside the write's transaction`);
    const statement = compiled(meta, target.connection, 'outbox:insert', (knex) =>
      knex(OUTBOX_TABLE).insert({ aggregate: slot(0), aggregate_key: slot(1), event_type: slot(2), payload: slot(3), created_at: slot(4), next_attempt_at: slot(5), status: 'pending', attempts: 0 }),
    );
    const key = (context.instance as Record<string, unknown>)[meta.primaryKey.property];
    const now = new Date();
    const values = [meta.name, String(key), context.operation, JSON.stringify(toPayload(meta, context.instance)), target.connection.dialect.codec.datetime(now), 0];
    await runStatement(target, statement, values, PREPARE_AUTO);
  },
};

/** Turns the outbox on for a model's metadata (idempotent). */
export function enableOutbox(meta: ModelMeta): void {
  if (!meta.participants.includes(outboxParticipant)) meta.addParticipant(outboxParticipant);
}

// `@Model({ outbox: true })`: the model layer cannot import this module, so it is told here.
provideParticipantOption('outbox', enableOutbox);

/**
 * Every create/update/destroy of the model also inserts a `polyrecord_outbox` row on
 * the same connection in the same transaction. Same as `@Model({ ..., outbox: true })`.
 * Create the table with {@link ensureOutboxTable}; deliver with an `OutboxRelay`.
 */
export function Outbox(): ClassDecorator {
  return (target) => enableOutbox(ownMeta(target));
}
