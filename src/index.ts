/**
 * polyrecord: an ActiveRecord ORM whose models live on several named connections.
 *
 * @packageDocumentation
 */
import 'reflect-metadata';

export { ConnectionManager, type ConnectionManagerEvents } from './connection/manager.js';
export { Connection, type ConnectionStatus, type ConnectionWarning } from './connection/connection.js';
export type { QueryEvent } from './connection/query-event.js';
export type { StatementCacheStats } from './connection/statement-cache.js';
export { ConnectionSettings, type ConnectionConfig, type DriverInput, type DriverName, type PoolConfig, type ReplicaConfig, type ReplicaCandidate, type ReplicaSettings } from './connection/config.js';
export type { ReplicaStatus } from './connection/replicas/replica.js';
export type { HealthReport } from './connection/health-report.js';
export type { DialectAdapter, DriverConnection, ExecOptions, ExecResult, PoolStats, PreparePolicy } from './connection/dialects/dialect.js';
export type { ReplicationSupport } from './connection/dialects/replication.js';
export type { SchemaSupport, LiveColumn, LiveTable, TypeFit, SqlRunner } from './connection/dialects/schema-support.js';
// What DialectAdapter (the type of `connection.dialect`) names, so the public types are complete.
export type { BoundList, ConnectionLender, LikeSupport, ListElementType, OpenedDriver, PreparedBranch, PreparedStatement, ReplyCounts, ReportStatement, TwoPhaseSupport, ValueCodec, Xid } from './connection/dialects/dialect.js';
export type { DriverFailure, DriverFailureKind } from './errors.js';

export { ActiveRecord, modelMetadata, type ModelClass, type UsingOptions } from './model/active-record.js';
export { Model, Column, PrimaryKey, CreatedAt, UpdatedAt, DeletedAt, defineModel, type DefineModelOptions, type FieldDecorator, type ModelDecorator } from './model/decorators.js';
export type { MethodDecorator } from './model/decorator-flavours.js';
export type { ColumnOptions, ModelOptions, ColumnMeta, ModelMeta } from './model/metadata.js';
export type { ColumnType } from './connection/column-codecs.js';
export { ModelQuery, type Page, OPERATORS, type ConditionGroup, type Operator, type RawSqlOptions } from './model/query-builder.js';
export { GroupedQuery, type GroupedRow } from './model/grouped-query.js';
export { sum, avg, min, max, count, countDistinct, type Aggregate, type AggregateFn, type AggregateValue } from './model/aggregates.js';
export type { StatementText } from './model/query-state.js';
export type { RowLock } from './connection/dialects/dialect.js';
export type { UpsertOptions } from './model/bulk.js';
export type { Attributes, Prop, Selected } from './model/types.js';
export {
  BeforeValidate,
  BeforeSave,
  AfterSave,
  BeforeCreate,
  AfterCreate,
  BeforeUpdate,
  AfterUpdate,
  BeforeDestroy,
  AfterDestroy,
  BeforeRestore,
  AfterRestore,
  AfterCommit,
  AfterRollback,
  type HookName,
} from './model/hooks.js';
export type { ModelEvents, RecordEvent, DestroyedEvent, RecordOperation, WriteKind, BulkEvent, SyncFailedEvent, HookFailedEvent, Changes } from './model/events.js';
export type { LifecycleParticipant, WriteContext } from './model/lifecycle.js';

export { Transaction } from './connection/session/local-transaction.js';
export { CrossDbTransaction, type CrossDbOptions } from './transaction/cross-db-transaction.js';
export { TransactionCoordinator, type ActiveTransaction, type CoordinatorEvents } from './transaction/coordinator.js';
export type { CoordinatorLog, TxRecord, TxState, DecisionState, ParticipantRecord } from './transaction/coordinator-log.js';
export { TableLog, TX_LOG_TABLE } from './transaction/table-log.js';
export { FileLog } from './transaction/file-log.js';
export { recover, type RecoveryOptions, type RecoveryResult, type RecoveredBranch } from './transaction/recovery.js';
export { startRecovery, type RecoveryLoopOptions } from './transaction/recovery-loop.js';
export type { NodeLease, NodeLeaseStore } from './transaction/node-lease.js';
export { TX_NODES_TABLE } from './transaction/table-node-leases.js';

export {
  PolyrecordError,
  ConfigError,
  ConnectionNotFoundError,
  RecordNotFoundError,
  QueryBuilderError,
  ValidationError,
  UnknownColumnError,
  ModelDefinitionError,
  QueryError,
  QueryTimeoutError,
  LockNotAvailableError,
  LockTimeoutError,
  UniqueViolationError,
  ForeignKeyViolationError,
  NotNullViolationError,
  CheckViolationError,
  DeadlockError,
  SerializationFailureError,
  ConnectionLostError,
  CircuitOpenError,
  LimitExceededError,
  type LimitName,
  ReplicaUnavailableError,
  ReadTokenError,
  TransactionError,
  CrossDbTransactionError,
  HeuristicOutcomeError,
  type ParticipantOutcome,
  type ViolationDetails,
} from './errors.js';

export { ensureOutboxTable, OUTBOX_TABLE } from './sync/outbox-table.js';
// Loading outbox-writer also registers what `@Model({ outbox: true })` turns on (see model/option-participants.ts).
export { Outbox } from './sync/outbox-writer.js';
export { OutboxRelay, type OutboxEvent, type OutboxHandler, type OutboxRelayOptions, type OutboxRelayEvents, type RelayRunResult } from './sync/outbox-relay.js';
export type { OutboxPublisher } from './sync/outbox-publisher.js';
export { SyncTo, type SyncToOptions } from './sync/sync-to.js';

// The outbox through message brokers, and inbox consumers (docs/brokers.md).
export { natsPublisher, type NatsPublisherOptions } from './brokers/nats-publisher.js';
export { rabbitPublisher, type RabbitPublisherOptions } from './brokers/rabbit-publisher.js';
export { natsSource, type NatsSourceOptions } from './brokers/nats-source.js';
export { rabbitSource, type RabbitSourceOptions } from './brokers/rabbit-source.js';
export { InboxConsumer, type InboxConsumerOptions, type InboxConsumerEvents } from './brokers/inbox-consumer.js';
export type { InboxEvent } from './brokers/inbox-event.js';
export type { InboxHandler, InboxBatchHandler } from './brokers/inbox-appliers.js';
export type { DeadInboxEvent } from './brokers/inbox-dead.js';
export type { InboxMessage, InboxSource } from './brokers/inbox-source.js';
export { ensureInboxTable, INBOX_TABLE } from './brokers/inbox-table.js';
export { ENVELOPE_SCHEMA_VERSION, type OutboxEnvelope } from './brokers/envelope.js';
export { escapeToken, partitionOf } from './brokers/message-address.js';
export { BrokerPackageMissingError, BrokerPublishError, EnvelopeError } from './brokers/broker-errors.js';
export type { RecordPayload } from './sync/payload.js';

// Batch sync jobs (docs/sync-job.md).
export { SyncJob, type SyncJobRunOptions, type SyncJobProgress, type SyncJobResult, type SyncJobStatus } from './sync/sync-job.js';
export type { SyncJobLastRun, SyncRunOutcome } from './sync/sync-last-run.js';
export type { SyncJobOptions } from './sync/sync-job-options.js';
export { SyncJobError, SyncJobAbortedError } from './sync/sync-job-errors.js';
export { ensureSyncStateTable, SYNC_STATE_TABLE, type SyncJobCheckpoint } from './sync/sync-state.js';
export type { CheckpointValue } from './sync/sync-state-codec.js';

// Sagas: compensating transactions across connections.
export { Saga } from './transaction/saga.js';
export type { SagaOptions, SagaResumeOptions } from './transaction/saga-options.js';
export type { SagaStepContext, SagaStepFn, SagaUndoFn } from './transaction/saga-steps.js';
export type { SagaResumeSummary } from './transaction/saga-resume.js';
export type { SagaLog, SagaRunFilter, SagaRunRecord, SagaRunStatus, SagaRunUpdate, SagaOwner } from './transaction/saga-log.js';
export { TableSagaLog, ensureSagaLogTable, SAGA_LOG_TABLE } from './transaction/saga-table-log.js';
export { DEFAULT_SAGA_RETRY, type SagaRetryPolicy } from './transaction/saga-retry.js';
export type { RetryPolicy } from './util/retry.js';
export type { TransactionOptions } from './connection/session/transaction-retry.js';
export { SagaDefinitionError, SagaSerializationError, SagaTakenOverError } from './transaction/saga-errors.js';
export { SagaError } from './errors.js';

// Reading several databases at once (docs/cross-db-reading.md).
export { scatter } from './reading/scatter.js';
export type { ScatterEntry, ScatterOptions, ScatterOutcome, PartialScatterOutcome, ScatterStat, ScatterValue } from './reading/scatter-types.js';
export { correlate, type JoinType, type Correlated, type CorrelateOptions, type CorrelateRowsOptions, type StreamedRows } from './reading/correlate.js';
export { ScatterError, ScatterCancelledError, ScatterTimeoutError, CorrelateError } from './reading/reading-errors.js';

// Relations (docs/relations.md).
export { HasMany, HasOne, BelongsTo, ManyToMany } from './model/relations/relation-decorators.js';
export type { HasManyOptions, HasOneOptions, BelongsToOptions, ManyToManyOptions, RelationKind, RelationDef } from './model/relations/relation-types.js';
export { RelatedQuery, type PivotLinks } from './model/relations/related-query.js';
export { RelationError, CrossConnectionLimitError } from './model/relations/relation-errors.js';
export type { PreloadPath, RelationName, RelatedQueryOf, RelatedRecord } from './model/relations/relation-typing.js';
export type { BreakerSettings, CircuitEvent, CircuitState } from './connection/breaker.js';
export type { MonitorOptions } from './connection/monitor.js';
export type { LimitStats } from './connection/limiter.js';
export type { ConnectionLimits } from './connection/config.js';

// The configuration file and migrations per connection (docs/cli.md, docs/migrations.md).
export { defineConfig, type PolyrecordConfig, type MigrationSettings, type CoordinatorSettings, type RelaySettings, type SagaDefinition, type ConfiguredSaga } from './config/define-config.js';
export { configureFrom } from './config/configure-from.js';
export { loadConfig, findConfigFile, CONFIG_FILE_NAMES, type LoadedConfig } from './config/load-config.js';
export { ConfigFileError } from './config/config-errors.js';
export { migrate, migrateRollback, migrationStatus } from './migrations/migrator.js';
export { makeMigration, type MigrationFileKind, type MakeMigrationOptions } from './migrations/make-migration.js';
export { MigrationError } from './migrations/migration-error.js';
export { DEFAULT_MIGRATIONS_TABLE } from './migrations/targets.js';
export type { MigrationOptions, MigrationRun, MigrationStatus } from './migrations/migration-types.js';

// Models compared with their tables, and migrations written from models (docs/migrations.md#checking-models-against-tables).
export { schemaCheck } from './schema/schema-check.js';
export { makeMigrationFromModels, type ModelMigrationOptions } from './schema/model-migration.js';
export type { SchemaOptions, SchemaCheckReport, SchemaProblem, SchemaProblemKind, CheckedModel } from './schema/schema-types.js';

// Operations: what the `polyrecord` outbox, tx and saga commands (and a dashboard) call (docs/cli.md).
export { outboxStats, deadEvents, retryDead, type OutboxStats, type OutboxModelStats, type DeadEvent } from './ops/outbox.js';
export { inboxDeadEvents, retryInboxDead, type DeadInboxEventAt, type InboxScope } from './ops/inbox.js';
export type { OutboxBacklog, DeadOutboxEvent } from './sync/outbox-report.js';
export { inDoubtBranches, recoverInDoubt, type InDoubtBranch, type InDoubtReport } from './ops/in-doubt.js';
export { sagaRuns, resumeSaga, SAGA_RUN_STATUSES } from './ops/sagas.js';
export { startRelays, type RunningRelays } from './ops/relays.js';
export { syncCheckpoints, type SyncCheckpointRow, type SyncCheckpointReport } from './ops/sync-checkpoints.js';
export type { OpsOptions } from './ops/ops-options.js';
export { OperationInputError } from './ops/ops-errors.js';
