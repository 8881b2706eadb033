import type { Connection, DriverConnection } from '../../src/index.js';

/** What one pooled session of a connection holds on its server. */
export interface SessionFigures {
  /** Statements prepared in that session, as the server counts them (undefined on SQLite: nothing on a server). */
  readonly prepared: number | undefined;
  /** PostgreSQL only: bytes the backend's memory contexts hold. */
  readonly backendBytes: number | undefined;
}

const PROBES: Record<string, ((connection: Connection, session: DriverConnection) => Promise<SessionFigures>) | undefined> = {
  async postgresql(connection, session) {
    const { rows } = await connection.executeOn(session, 'select (select count(*) from pg_prepared_statements)::int as prepared, (select sum(total_bytes) from pg_backend_memory_contexts)::bigint as bytes', []);
    return { prepared: Number(rows[0]!.prepared), backendBytes: Number(rows[0]!.bytes) };
  },
  async mysql(connection, session) {
    // MariaDB counts prepares and closes per session (performance_schema is off by default).
    // mysql2 may close a statement twice, so this can only undercount: it bounds a leak, the serial suite checks exactly.
    const { rows } = await connection.executeOn(session, "show session status where variable_name in ('Com_stmt_prepare', 'Com_stmt_close')", []);
    const value = (name: string) => Number(rows.find((r) => String(r.Variable_name).toLowerCase() === name)?.Value ?? 0);
    return { prepared: value('com_stmt_prepare') - value('com_stmt_close'), backendBytes: undefined };
  },
};

/** Figures of every session of a pool of `sessions` connections (all held at once, so each is a different one). */
export async function sessionFigures(connection: Connection, sessions: number): Promise<SessionFigures[]> {
  const probe = PROBES[connection.driver];
  // SQLite has one connection and no server: nothing to hold or ask.
  if (!probe) return Array.from({ length: sessions }, () => ({ prepared: undefined, backendBytes: undefined }));
  const held = await Promise.all(Array.from({ length: sessions }, () => connection.acquire()));
  try {
    const figures: SessionFigures[] = [];
    for (const session of held) figures.push(await probe(connection, session));
    return figures;
  } finally {
    for (const session of held) connection.release(session);
  }
}
