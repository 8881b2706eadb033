import { PolyrecordError } from '../errors.js';

/**
 * A broker publisher or source needs a client package the application has not installed.
 * The broker clients are optional peer dependencies: install the one named here.
 *
 * @example
 * ```ts
 * try { await relay.runOnce() } catch (e) { if (e instanceof BrokerPackageMissingError) console.error(`npm install ${e.packageName}`) }
 * ```
 */
export class BrokerPackageMissingError extends PolyrecordError {
  /** The npm package to install, e.g. `amqplib`. */
  readonly packageName: string;

  constructor(packageName: string, usedBy: string, cause?: unknown) {
    super('E_BROKER_PACKAGE_MISSING', `${usedBy} needs the package "${packageName}", which is not installed: run npm install ${packageName}`, { cause });
    this.packageName = packageName;
  }
}

/**
 * A broker did not confirm a message: JetStream answered with an error or not at all,
 * RabbitMQ nacked it or returned it as unroutable (no queue bound for its routing key). The
 * relay retries the event; `reason` says which.
 */
export class BrokerPublishError extends PolyrecordError {
  readonly reason: 'unroutable' | 'nack' | 'no-ack' | 'closed';
  /** The message (event) id. */
  readonly messageId: string;

  constructor(reason: BrokerPublishError['reason'], messageId: string, message: string, cause?: unknown) {
    super('E_BROKER_PUBLISH', `message ${messageId}: ${message}`, { cause });
    this.reason = reason;
    this.messageId = messageId;
  }
}

/** A broker message an {@link InboxConsumer} cannot read as an outbox envelope (not JSON, unknown `schemaVersion`, fields missing). It goes dead at once: a retry cannot fix it. */
export class EnvelopeError extends PolyrecordError {
  constructor(message: string) {
    super('E_BROKER_ENVELOPE', message);
  }
}
