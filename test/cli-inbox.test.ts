import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionManager, INBOX_TABLE, InboxConsumer, natsSource, type DeadInboxEventAt } from '../src/index.js';
import { BROKERS_AVAILABLE, brokerNames, NATS_URL, removeBrokerNames } from './support/brokers.js';
import { polyrecord } from './support/cli.js';
import { describeEachDialect } from './support/dialects.js';
import { waitFor } from './support/wait.js';

const root = resolve(import.meta.dirname, '..');

/** Runs the command and parses its JSON output; the exit code must be 0. */
function json<T>(dir: string, ...args: string[]): T {
  const result = polyrecord(dir, ...args, '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

if (!BROKERS_AVAILABLE) describe.skip('polyrecord inbox commands (needs POLYRECORD_NATS_URL and POLYRECORD_AMQP_URL)', () => {});
else describeEachDialect('polyrecord inbox commands', (dialect) => {
  const dir = mkdtempSync(join(tmpdir(), `polyrecord-cli-inbox-${dialect.driver}-`));
  const names = brokerNames();
  // Two consumers of one stream on one inbox connection: their dead events share event ids.
  const consumerNames = [`${names.durable}_a`, `${names.durable}_b`];
  let drop: () => Promise<void>;
  let consumers: InboxConsumer[] = [];
  let broken = true;
  const inbox = () => ConnectionManager.get('inbox').knex;
  const applied = async (consumer: string) => (await inbox()('cliinbox_applied').where({ consumer }).orderBy('event_id').select('event_id')).map((r) => String(r.event_id));
  const rowStatus = async (consumer: string, id: string) => (await inbox()(INBOX_TABLE).where({ consumer, event_id: id }).first('status'))?.status as string | undefined;

  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('inbox', provisioned.configs[0]!);
    await inbox().schema.createTable('cliinbox_applied', (t) => {
      t.string('consumer', 128);
      t.string('event_id', 64);
    });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'polyrecord.config.ts'), `import { defineConfig } from ${JSON.stringify(join(root, 'src/index.ts'))}\n\nexport default defineConfig({ connections: { inbox: ${JSON.stringify(provisioned.configs[0])} } })\n`);
    consumers = consumerNames.map(
      (durable) =>
        new InboxConsumer({
          connection: 'inbox',
          source: natsSource({ servers: NATS_URL, stream: names.stream, streamSubjects: [`${names.subject}.>`], durable, ackWaitMs: 1_000 }),
          maxAttempts: 1,
          retryPollMs: 50,
          handlers: {
            CliThing: async (event, trx) => {
              if (event.key.startsWith('bad') && broken) throw new Error('carrier down');
              await trx.table('cliinbox_applied').insert({ consumer: durable, event_id: event.id });
            },
          },
        }),
    );
    for (const consumer of consumers) consumer.events.on('error', () => undefined);
    for (const consumer of consumers) await consumer.start();
    const nc = await natsConnect({ servers: NATS_URL });
    const js = jetstream(nc);
    for (const [id, key] of [['1', 'good'], ['2', 'bad-1']] as const) {
      const envelope = { id, model: 'CliThing', key, kind: 'created', payload: { id: key }, occurredAt: new Date().toISOString(), schemaVersion: 1 };
      await js.publish(`${names.subject}.CliThing.${key}`, JSON.stringify(envelope), { msgID: id });
    }
    await nc.close();
    await waitFor(async () => (await Promise.all(consumers.map((c) => c.deadEvents()))).every((dead) => dead.length === 1), 'both consumers to give up on event 2');
  }, 60_000);
  afterAll(async () => {
    for (const consumer of consumers) await consumer.stop();
    await removeBrokerNames(names);
    await ConnectionManager.remove('inbox');
    await drop();
  });

  it('inbox dead lists the dead events of every consumer, or of one', () => {
    const dead = json<DeadInboxEventAt[]>(dir, 'inbox', 'dead');
    expect(dead.map((e) => e.consumer).sort()).toEqual(consumerNames);
    for (const event of dead) expect(event).toMatchObject({ connection: 'inbox', id: '2', model: 'CliThing', key: 'bad-1', attempts: 1, lastError: 'Error: carrier down', deadAt: expect.any(String) });
    expect(json<DeadInboxEventAt[]>(dir, 'inbox', 'dead', '--consumer', consumerNames[0]!)).toEqual([dead.find((e) => e.consumer === consumerNames[0])]);
    expect(json<DeadInboxEventAt[]>(dir, 'inbox', 'dead', '--consumer', 'nobody')).toEqual([]);
    expect(json<DeadInboxEventAt[]>(dir, 'inbox', 'dead', '--limit', '1')).toHaveLength(1);
    const table = polyrecord(dir, 'inbox', 'dead');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Error: carrier down');
    expect(table.stdout).toContain(consumerNames[1]);
  }, 120_000);

  it('inbox retry refuses wrong use and ambiguous ids (exit 2) and changes nothing', async () => {
    for (const args of [[], ['2', '--all-dead'], ['2'], ['--all-dead', '--connection', 'nope']]) {
      const wrong = polyrecord(dir, 'inbox', 'retry', ...args);
      expect(wrong.code, `inbox retry ${args.join(' ')}: ${wrong.stderr}`).toBe(2);
    }
    expect(polyrecord(dir, 'inbox', 'retry', '2').stderr).toContain(consumerNames[0]);
    for (const consumer of consumerNames) expect(await rowStatus(consumer, '2')).toBe('dead');
  }, 120_000);

  it('inbox retry hands a dead event back to its consumer, which applies it once; a retry that fails again is dead again', async () => {
    broken = false;
    const [a, b] = consumerNames as [string, string];
    const retried = polyrecord(dir, 'inbox', 'retry', '2', '--consumer', a);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain('handed 1 dead event back to the consumer');
    await waitFor(async () => (await rowStatus(a, '2')) === 'done', 'consumer a to apply event 2');
    expect(await applied(a)).toEqual(['1', '2']);
    expect(await rowStatus(b, '2')).toBe('dead');
    expect(json<DeadInboxEventAt[]>(dir, 'inbox', 'dead').map((e) => e.consumer)).toEqual([b]);
    // Not dead any more: nothing to hand back, exit 1.
    expect(polyrecord(dir, 'inbox', 'retry', '2', '--consumer', a).code).toBe(1);

    broken = true;
    expect(json<{ retried: number }>(dir, 'inbox', 'retry', '--all-dead')).toEqual({ retried: 1 });
    await waitFor(async () => (await rowStatus(b, '2')) === 'dead' && (await applied(b)).length === 1, 'consumer b to fail event 2 again');
    expect(await applied(b)).toEqual(['1']);

    broken = false;
    expect(json<{ retried: number }>(dir, 'inbox', 'retry', '2', '--consumer', b)).toEqual({ retried: 1 });
    await waitFor(async () => (await rowStatus(b, '2')) === 'done', 'consumer b to apply event 2');
    expect(await applied(b)).toEqual(['1', '2']);
    expect(json<DeadInboxEventAt[]>(dir, 'inbox', 'dead')).toEqual([]);
  }, 180_000);
});
