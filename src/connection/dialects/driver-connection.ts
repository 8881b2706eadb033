/** A raw driver connection (better-sqlite3 `Database`, pg `Client`, mysql2 `Connection`). Opaque outside the adapters. */
export type DriverConnection = object;
