import type pg from 'pg';
import type { DriverConnection, PreparedStatement } from '../dialect.js';

/** The parts of pg's client that track named statements (pg keeps them per client, on its protocol connection). */
interface ProtocolConnection {
  parsedStatements: Record<string, string>;
  close(message: { type: 'S'; name: string }): void;
  sync(): void;
}
type TrackingClient = pg.PoolClient & { connection: ProtocolConnection };

/**
 * A pg "submittable" that closes one named statement with the extended protocol's
 * Close message. Unlike `DEALLOCATE`, Close is accepted inside a failed transaction,
 * and it queues behind the client's other queries like any query, so the statement
 * is gone before the next one runs.
 */
class CloseStatement {
  callback: ((error: Error | null) => void) | undefined;
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  submit(connection: ProtocolConnection): null {
    connection.close({ type: 'S', name: this.#name });
    connection.sync();
    return null;
  }

  handleReadyForQuery(): void {
    this.callback?.(null);
  }

  handleError(error: Error): void {
    this.callback?.(error);
  }
}

/**
 * Releases a statement pg prepared on this client: forgets it in pg's own per-client
 * map (else pg would skip the next Parse) and closes it on the server. A statement pg
 * never parsed (its Parse failed) has nothing to release.
 */
export function closePreparedStatement(connection: DriverConnection, statement: PreparedStatement): Promise<void> | undefined {
  const client = connection as TrackingClient;
  const parsed = client.connection.parsedStatements;
  if (parsed[statement.name] === undefined) return undefined;
  delete parsed[statement.name];
  return new Promise((resolve) => {
    const close = new CloseStatement(statement.name);
    // A client that breaks meanwhile loses the statement with its session: nothing to report.
    close.callback = () => resolve();
    client.query(close as unknown as pg.QueryConfig);
  });
}
