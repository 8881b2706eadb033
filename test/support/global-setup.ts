/** Says once, before any suite, which server dialects run and how to enable the others. */
export default function setup(): void {
  const missing = [
    ['PostgreSQL', 'POLYRECORD_PG_URL', 'postgres://postgres@127.0.0.1:5432/test'],
    ['MySQL/MariaDB', 'POLYRECORD_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test'],
  ].filter(([, variable]) => !process.env[variable!]);
  for (const [name, variable, example] of missing) {
    console.log(`[polyrecord] ${name} suites skipped: set ${variable} (e.g. ${example}) to run them.`);
  }
  if (process.env.CI === 'true' && missing.length > 0) {
    throw new Error(`CI requires every dialect: set ${missing.map(([, v]) => v).join(' and ')}`);
  }
}
