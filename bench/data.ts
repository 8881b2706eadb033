/** One user as every contender receives it: plain values keyed by the model's property names. */
export interface UserRow {
  email: string;
  name: string;
  score: number;
  active: boolean;
  createdAt: Date;
}

/** The columns every contender reads, in this order. */
export const USER_COLUMNS = ['id', 'email', 'name', 'score', 'active', 'created_at'] as const;
/** The columns every contender writes (the id is generated). */
export const INSERT_COLUMNS = ['email', 'name', 'score', 'active', 'created_at'] as const;
/** Upserts overwrite every written column but the conflict key. */
export const UPSERT_UPDATE_COLUMNS = ['name', 'score', 'active', 'created_at'] as const;

const EPOCH = Date.UTC(2024, 0, 1);

/** User number `n` (emails are unique per `n`). `revision` changes every other column, for upserts. */
export function user(n: number, revision = 0): UserRow {
  return {
    email: `user${n}@example.com`,
    name: revision === 0 ? `User ${n}` : `User ${n} (rev ${revision})`,
    score: revision * 10_000 + (n % 1000),
    active: (n + revision) % 2 === 0,
    createdAt: new Date(EPOCH + n * 1000 + revision),
  };
}

/** Users `from`, `from + step`, … (`count` of them). */
export function users(from: number, count: number, revision = 0, step = 1): UserRow[] {
  return Array.from({ length: count }, (_, i) => user(from + i * step, revision));
}

/** `rows` split into arrays of at most `size`. */
export function chunks<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < rows.length; start += size) out.push(rows.slice(start, start + size));
  return out;
}
