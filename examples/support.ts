/**
 * Small helpers shared by the examples (not part of polyrecord).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Examples run as .build/examples/<name>.js; their SQLite files live in examples/data/ (gitignored).
const dataDir = fileURLToPath(new URL('../../examples/data/', import.meta.url));

/** The path of a fresh SQLite file examples/data/<name>.sqlite (any old one is deleted). */
export function freshSqliteFile(name: string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = `${dataDir}${name}.sqlite`;
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });
  return file;
}

/** Database servers to use as well, from POLYRECORD_PG_URL and POLYRECORD_MYSQL_URL when they are set. */
export function serverUrls(): { name: string; url: string }[] {
  const servers: { name: string; url: string }[] = [];
  if (process.env.POLYRECORD_PG_URL) servers.push({ name: 'postgres', url: process.env.POLYRECORD_PG_URL });
  if (process.env.POLYRECORD_MYSQL_URL) servers.push({ name: 'mysql', url: process.env.POLYRECORD_MYSQL_URL });
  return servers;
}
