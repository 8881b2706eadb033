import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActiveRecord, Column, ConfigError, ConnectionManager, Model, PrimaryKey, QueryError, SyncTo, type Connection, type HealthReport } from '../src/index.js';
import { SERVER_DIALECTS } from './support/dialects.js';
import { createServerUser, serverUrl, type ServerUser } from './support/server-users.js';

/**
 * Passwords never appear in errors, logs, events or printed objects. The failures here
 * make the server or the driver really quote the secret (a database or user named like
 * the password), so the assertions fail as soon as the filter (`ConnectionSettings.redact`)
 * stops doing its job; each also checks that the quoted part was replaced by `***`.
 */

const hex = () => randomBytes(6).toString('hex');

/** Every text must be free of every form of the secret. */
function expectHidden(texts: readonly (string | undefined)[], forms: readonly string[]): void {
  for (const text of texts) {
    expect(text).toBeDefined();
    for (const form of forms) expect(text, `leaks ${form}`).not.toContain(form);
  }
}

/** Collects what reaches the console (knex's log lines go through polyrecord's logger to console.warn/error). */
function captureConsole(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const spies = (['warn', 'error', 'log', 'info', 'debug'] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '))),
  );
  return { lines, restore: () => spies.forEach((spy) => spy.mockRestore()) };
}

describe('config errors never echo a URL', () => {
  const manager = new ConnectionManager();
  const secret = `Pw${hex()}`;
  afterAll(() => manager.closeAll());

  const malformed: Array<[string, string]> = [
    ['a port out of range', `postgres://app:${secret}@127.0.0.1:99999/app`],
    ['a port that is not a number', `mysql://app:${secret}@127.0.0.1:port/app`],
    ['a space in the host', `mariadb://app:${secret}@db host/app`],
    ['an empty host', `postgres://app:${secret}@/app`],
    ['bad percent-encoding in the password', `postgres://app:${secret}%zz@127.0.0.1/app`],
    ['bad percent-encoding in the user', `mysql://app%zz:${secret}@127.0.0.1/app`],
    ['bad percent-encoding in the database', `postgresql://app:${secret}@127.0.0.1/app%zz`],
    ['bad percent-encoding in a SQLite path', `sqlite:./${secret}%zz.sqlite`],
    // Without "//" there is no authority: the whole "user:password@host/db" would become the database name.
    ['no "//" after the scheme', `postgres:app:${secret}@127.0.0.1/app`],
    ['one "/" after the scheme', `mysql:/app:${secret}@127.0.0.1/app`],
  ];

  for (const [what, url] of malformed) {
    it(`${what}: ConfigError on field url, without the URL or the password`, () => {
      let error: unknown;
      try {
        manager.configure('bad-url', { url });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const configError = error as ConfigError;
      expect(configError.field).toBe('url');
      expect(configError.connection).toBe('bad-url');
      expect(configError.message).toMatch(/^connection "bad-url": url: /);
      expectHidden([configError.message, String(configError), configError.stack, inspect(configError, { depth: 10, showHidden: true }), JSON.stringify(configError)], [secret, url]);
      expect(manager.has('bad-url')).toBe(false);
    });
  }

  it('a password of the wrong type is described by its type only', () => {
    const numeric = 918_273_645_546_372;
    for (const password of [numeric, [String(numeric)], { value: String(numeric) }]) {
      let error: unknown;
      try {
        manager.configure('bad-password', { driver: 'postgresql', database: 'app', password: password as never });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe('password');
      expect((error as ConfigError).message).toMatch(/password: must be a string \(got (number|object)\)$/);
      expectHidden([(error as Error).message, inspect(error), JSON.stringify(error)], [String(numeric)]);
    }
  });

  it('the well-formed variants of those URLs are accepted, with the password decoded', () => {
    expect(manager.configure('ok-pg', { url: `postgres://app:${secret}%21@127.0.0.1:5432/app%2Dx` }).settings).toMatchObject({ username: 'app', password: `${secret}!`, database: 'app-x', port: 5432 });
    expect(manager.configure('ok-local', { url: 'postgres:///app' }).settings).toMatchObject({ database: 'app', host: undefined });
    expect(manager.configure('ok-sqlite', { url: 'sqlite:./a%20b.sqlite' }).settings.database).toBe('./a b.sqlite');
  });
});

describe('settings and connections print without the password', () => {
  const manager = new ConnectionManager();
  const secret = `Pw@${hex()}/:!`;
  afterAll(() => manager.closeAll());

  it('String(), util.inspect, JSON.stringify of settings, connection, status and the configured event', () => {
    const configured: Connection[] = [];
    manager.events.on('configured', (c) => void configured.push(c));
    const fromUrl = manager.configure('pw-url', { url: `postgres://app:${encodeURIComponent(secret)}@127.0.0.1:1/app` });
    const fromFields = manager.configure('pw-fields', { driver: 'mysql', host: '127.0.0.1', port: 1, database: 'app', username: 'app', password: secret });
    // The driver gets the real, decoded password.
    expect(fromUrl.settings.password).toBe(secret);
    expect(fromFields.settings.password).toBe(secret);
    expect(fromUrl.settings.hasPassword).toBe(true);
    expect(JSON.parse(JSON.stringify(fromUrl.settings))).toMatchObject({ username: 'app', password: '***' });
    expect(inspect(fromUrl.settings)).toContain("password: '***'");

    const subjects: unknown[] = [fromUrl, fromFields, fromUrl.settings, fromFields.settings, manager.status(), ...configured];
    const texts = subjects.flatMap((s) => [String(s), inspect(s, { depth: 10, showHidden: true, getters: true }), JSON.stringify(s)]);
    // The manager itself (circular, so not JSON).
    texts.push(inspect(manager, { depth: 10, showHidden: true, getters: true }));
    expectHidden(texts, [secret, encodeURIComponent(secret)]);
  });
});

/** A model on every probe connection (reached with `using(name)`). */
const probes = new ConnectionManager();

@Model({ connection: 'unused', table: 'probe', manager: probes })
class Probe extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) label!: string;
}

for (const dialect of SERVER_DIALECTS) {
  describe(`passwords quoted by the server or the driver are filtered [${dialect.driver}]`, () => {
    const driver = dialect.driver;
    // Plain, and one that needs percent-encoding in a URL.
    const secret = `Pw${hex()}`;
    const special = `Pw@${hex()}/x`;
    let user: ServerUser;
    let specialUser: ServerUser;
    let console_: ReturnType<typeof captureConsole>;

    beforeAll(async () => {
      user = await createServerUser(driver, secret);
      specialUser = await createServerUser(driver, special);
    });
    afterAll(async () => {
      await probes.closeAll();
      await user?.drop();
      await specialUser?.drop();
    });
    beforeEach(() => {
      console_ = captureConsole();
    });
    afterEach(() => console_.restore());

    /** Configures `name`, fails a model query and a health probe on it; returns what the application would see. */
    async function fail(name: string, config: Parameters<ConnectionManager['configure']>[1]): Promise<{ error: QueryError; report: HealthReport }> {
      probes.configure(name, { ...config, pool: { min: 0, max: 1 }, connectTimeoutMs: 5_000 });
      const error = await Probe.using(name).first().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(QueryError);
      expect((error as QueryError).connection).toBe(name);
      const report = await probes.health(name);
      expect(report.ok).toBe(false);
      return { error: error as QueryError, report };
    }

    /** What may print the secret: the error, the health report, the console lines. */
    function expectAllHidden(name: string, { error, report }: { error: QueryError; report: HealthReport }, forms: readonly string[]): void {
      expectHidden([error.message, String(error), error.stack, JSON.stringify(error), error.sql ?? '', report.error, JSON.stringify(report), ...console_.lines], forms);
      // knex's pool logged the driver's failure, filtered, under the connection's name.
      expect(console_.lines.some((line) => line.startsWith(`[polyrecord:${name}] `) && line.includes('***'))).toBe(true);
    }

    it('a database named like the password: the server’s answer names it, and is filtered everywhere', async () => {
      const failed = await fail('db-named', { url: serverUrl(driver, { username: user.username, password: secret, database: secret }) });
      // The server quoted the database name, and the filter replaced it. On MariaDB the
      // password was sent and accepted (the user logged in; only the database is refused).
      const quoted = driver === 'postgresql' ? /database "\*\*\*" does not exist/ : new RegExp(`Access denied for user '${user.username}'@'%' to database '\\*\\*\\*'`);
      expect(failed.error.message).toMatch(quoted);
      expect(failed.report.error).toMatch(quoted);
      expectAllHidden('db-named', failed, [secret]);
    });

    it('a user name containing the password: “role … does not exist” / “Access denied for user …” is filtered', async () => {
      // (MariaDB usually adds "(using password: YES)", not always.)
      const failed = await fail('user-named', { url: serverUrl(driver, { username: `u_${secret}`, password: secret, database: 'test' }) });
      const quoted = driver === 'postgresql' ? /(role|user) "u_\*\*\*"/ : /Access denied for user 'u_\*\*\*'@'[^']+'/;
      expect(failed.error.message).toMatch(quoted);
      expect(failed.report.error).toMatch(quoted);
      expectAllHidden('user-named', failed, [secret]);
    });

    it('a password that needs percent-encoding is filtered in its plain and its encoded form', async () => {
      const url = serverUrl(driver, { username: specialUser.username, password: special, database: 'test' });
      const forms = [special, encodeURIComponent(special)];
      for (const [name, database] of [
        ['plain-db', special],
        ['encoded-db', encodeURIComponent(special)],
      ] as const) {
        console_.lines.length = 0;
        const failed = await fail(name, { url, database });
        expect(failed.error.message).toMatch(driver === 'postgresql' ? /database "\*\*\*" does not exist/ : /to database '\*\*\*'/);
        expectAllHidden(name, failed, forms);
      }
    });

    it('a syncFailed event carries the filtered error', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'polyrecord-redaction-'));
      const local = new ConnectionManager();
      try {
        local.configure('source', { driver: 'sqlite', database: join(dir, 'source.sqlite') });
        local.configure('copy', { url: serverUrl(driver, { username: user.username, password: secret, database: secret }), pool: { min: 0, max: 1 } });
        await local.get('source').knex.schema.createTable('notes', (t) => {
          t.increments('id');
          t.string('label');
        });

        @Model({ connection: 'copy', table: 'note_copies', manager: local })
        class NoteCopy extends ActiveRecord {
          @PrimaryKey({ type: 'integer' }) id!: number;
          @Column({ type: 'string' }) label!: string;
        }

        @SyncTo({ connection: 'copy', model: NoteCopy, map: (n: Note) => ({ id: n.id, label: n.label }), conflictKeys: ['id'] })
        @Model({ connection: 'source', table: 'notes', manager: local })
        class Note extends ActiveRecord {
          @PrimaryKey({ type: 'integer' }) id!: number;
          @Column({ type: 'string' }) label!: string;
        }

        const failures: Array<{ target: string; error: unknown }> = [];
        Note.events.on('syncFailed', ({ target, error }) => void failures.push({ target, error }));
        await Note.create({ label: 'n' });
        expect(failures).toHaveLength(1);
        const error = failures[0]!.error as QueryError;
        expect(error).toBeInstanceOf(QueryError);
        expect(error.message).toMatch(/\*\*\*/);
        expectHidden([error.message, String(error), error.stack, JSON.stringify(error), JSON.stringify(failures[0]!.target), ...console_.lines], [secret]);
      } finally {
        await local.closeAll();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    // The driver's error stays reachable as `cause`, and util.inspect (console.log, most loggers) prints it.
    it('util.inspect of the QueryError shows no password through its driver cause', async () => {
      const { error } = await fail('inspected', { url: serverUrl(driver, { username: user.username, password: secret, database: secret }) });
      expectHidden([inspect(error, { depth: 10 }), (error.cause as Error).message, (error.cause as Error).stack], [secret]);
    });
  });
}
