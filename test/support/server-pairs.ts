import { describe } from 'vitest';
import type { ConnectionConfig, DriverName } from '../../src/index.js';
import { DIALECTS, type DialectFixture } from './dialects.js';

type ServerDriver = Exclude<DriverName, 'sqlite'>;

const SERVERS: Record<ServerDriver, { label: string; variable: string }> = {
  postgresql: { label: 'PostgreSQL', variable: 'POLYRECORD_PG_URL' },
  mysql: { label: 'MariaDB', variable: 'POLYRECORD_MYSQL_URL' },
};

/**
 * Two databases with two-phase commit that a cross-database transaction spans: two
 * databases on one server, or one on each server.
 */
export interface ServerPair {
  /** Short and stable, e.g. `pg-maria`: part of node ids and test names. */
  readonly key: string;
  /** E.g. `PostgreSQL + MariaDB`. */
  readonly label: string;
  readonly left: ServerDriver;
  readonly right: ServerDriver;
  /** Whether both databases live on one server. */
  readonly sameServer: boolean;
  /** Provisions one fresh database for each side (two on one server for a same-server pair). */
  provision(): Promise<{ left: ConnectionConfig; right: ConnectionConfig; drop(): Promise<void> }>;
}

const PAIRS: Array<[string, ServerDriver, ServerDriver]> = [
  ['pg-pg', 'postgresql', 'postgresql'],
  ['maria-maria', 'mysql', 'mysql'],
  ['pg-maria', 'postgresql', 'mysql'],
];

function fixture(driver: ServerDriver): DialectFixture | undefined {
  return DIALECTS.find((d) => d.driver === driver);
}

function pair(key: string, left: ServerDriver, right: ServerDriver): ServerPair {
  const sameServer = left === right;
  return {
    key,
    label: `${SERVERS[left].label} + ${SERVERS[right].label}${sameServer ? ' (two databases)' : ''}`,
    left,
    right,
    sameServer,
    async provision() {
      if (sameServer) {
        const both = await fixture(left)!.provision(2);
        return { left: both.configs[0]!, right: both.configs[1]!, drop: both.drop };
      }
      const l = await fixture(left)!.provision(1);
      const r = await fixture(right)!.provision(1);
      return {
        left: l.configs[0]!,
        right: r.configs[0]!,
        drop: async () => {
          await l.drop();
          await r.drop();
        },
      };
    },
  };
}

const all = PAIRS.map(([key, left, right]) => ({ pair: pair(key, left, right), missing: [...new Set([left, right])].filter((d) => !fixture(d)).map((d) => SERVERS[d].variable) }));

/** The pairs whose servers are configured in this run. */
export const SERVER_PAIRS: ServerPair[] = all.filter((p) => p.missing.length === 0).map((p) => p.pair);

/**
 * Declares `suite` once per server pair (a describe each), for the pairs in `keys` (all
 * by default). The pairs whose server URL is not set are skipped; their titles say which
 * variables enable them (and the run's end-of-run notice lists them, see global-setup.ts).
 */
export function describeEachServerPair(title: string, suite: (pair: ServerPair) => void, keys: readonly string[] = PAIRS.map(([key]) => key)): void {
  const wanted = all.filter((p) => keys.includes(p.pair.key));
  for (const { pair: p, missing } of wanted) {
    if (missing.length > 0) describe.skip(`${title} [${p.label}] (needs ${missing.join(' and ')})`, () => suite(p));
    else describe(`${title} [${p.label}]`, () => suite(p));
  }
}
