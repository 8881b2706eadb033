/** The variables that enable the suites a run without database servers skips. */
const ENABLERS = [
  { variable: 'POLYRECORD_PG_URL', example: 'postgres://postgres@127.0.0.1:5432/test', enables: 'the PostgreSQL suites and the cross-database pairs with PostgreSQL' },
  { variable: 'POLYRECORD_MYSQL_URL', example: 'mysql://root@127.0.0.1:3306/test', enables: 'the MySQL/MariaDB suites, the cross-database pairs with MariaDB and the prepared-statement limit test' },
  { variable: 'POLYRECORD_PG_RESTART', example: 'the command that restarts PostgreSQL', enables: 'the PostgreSQL restart test (with POLYRECORD_PG_URL)' },
  { variable: 'POLYRECORD_PG_REPLICA_URL', example: 'run `scripts/replicas.sh start`, then eval `scripts/replicas.sh env`', enables: 'the read replica suites on a real PostgreSQL standby (with POLYRECORD_PG_URL)' },
  { variable: 'POLYRECORD_MYSQL_REPLICA_URL', example: 'the same script, with POLYRECORD_MYSQL_PRIMARY_URL', enables: 'the read replica suites on a real MariaDB GTID pair' },
  { variable: 'POLYRECORD_NATS_URL', example: 'nats://127.0.0.1:4222', enables: 'the broker suites (with POLYRECORD_AMQP_URL): NATS JetStream' },
  { variable: 'POLYRECORD_AMQP_URL', example: 'amqp://guest:guest@127.0.0.1:5672', enables: 'the broker suites (with POLYRECORD_NATS_URL): RabbitMQ' },
  { variable: 'POLYRECORD_NATS_RESTART', example: 'bash scripts/restart-broker.sh nats', enables: 'the broker restart test (with POLYRECORD_RABBIT_RESTART and both broker URLs)' },
  { variable: 'POLYRECORD_RABBIT_RESTART', example: 'bash scripts/restart-broker.sh rabbit', enables: 'the broker restart test (with POLYRECORD_NATS_RESTART and both broker URLs)' },
];
/** Required in CI (`CI=true`): a CI run never passes with the server dialects, the replicas or the brokers silently skipped. */
const REQUIRED_IN_CI = ['POLYRECORD_PG_URL', 'POLYRECORD_MYSQL_URL', 'POLYRECORD_PG_REPLICA_URL', 'POLYRECORD_MYSQL_REPLICA_URL', 'POLYRECORD_MYSQL_PRIMARY_URL', 'POLYRECORD_REPLICA_SCRIPT', 'POLYRECORD_NATS_URL', 'POLYRECORD_AMQP_URL', 'POLYRECORD_NATS_RESTART', 'POLYRECORD_RABBIT_RESTART'];

/** The end-of-run notice: what was skipped and how to enable it; undefined when nothing was. */
export function skipNotice(env: NodeJS.ProcessEnv): string | undefined {
  const missing = ENABLERS.filter(({ variable }) => !env[variable]);
  if (missing.length === 0) return undefined;
  return [
    '[polyrecord] Some suites were skipped (the SQLite suites ran). To run them, set:',
    ...missing.map(({ variable, example, enables }) => `  ${variable} (e.g. ${example}): ${enables}`),
  ].join('\n');
}

/**
 * Fails a CI run at once when a server dialect is missing; otherwise says once, after the
 * last suite, which suites were skipped and which variables enable them.
 */
export default function setup(): (() => void) | undefined {
  const missingInCi = REQUIRED_IN_CI.filter((variable) => !process.env[variable]);
  if (process.env.CI === 'true' && missingInCi.length > 0) throw new Error(`CI requires every dialect: set ${missingInCi.join(' and ')}`);
  // Vitest runs a global setup once per project (parallel, serial): only the first one speaks.
  const run = globalThis as { polyrecordSkipNotice?: boolean };
  const notice = skipNotice(process.env);
  if (run.polyrecordSkipNotice || !notice) return undefined;
  run.polyrecordSkipNotice = true;
  return () => console.log(`\n${notice}\n`);
}
