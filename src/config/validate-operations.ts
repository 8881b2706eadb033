import { ConfigFileError } from './config-errors.js';
import type { PolyrecordConfig } from './define-config.js';

// The options of OutboxRelay that take a positive whole number, and the other keys a relay entry may have.
const RELAY_COUNTS = ['batchSize', 'concurrency', 'maxAttempts', 'leaseMs', 'pollIntervalMs', 'workers'] as const;
const RELAY_KEYS = new Set<string>(['connection', 'handlers', 'backoff', ...RELAY_COUNTS]);

/**
 * Checks the fields the operations commands read (`coordinator`, `relays`, `sagas`) when a
 * config file loads, so a mistake is reported once, naming the file and the field, before
 * any command acts. Objects are recognised by shape, not class: the file may have loaded
 * another copy of polyrecord than the command's.
 *
 * @throws {ConfigFileError} naming the field, e.g. `relays[0].batchSize`.
 */
export function validateOperations(config: PolyrecordConfig, file: string): void {
  const known = new Set([...Object.keys(config.connections ?? {}), ...Object.keys(config.aliases ?? {})]);
  const fail = (field: string, message: string): never => {
    throw new ConfigFileError(`config file ${file}: ${field}: ${message}`, { file, field });
  };
  const connection = (field: string, value: unknown) => {
    if (typeof value !== 'string' || !known.has(value)) fail(field, `must name a connection of the config (${[...known].map((n) => `"${n}"`).join(', ') || 'none'}), got ${JSON.stringify(value)}`);
  };

  const { coordinator, relays, sagas } = config as unknown as Record<string, unknown>;
  if (coordinator !== undefined) {
    if (!isObject(coordinator)) fail('coordinator', 'must be an object: { log, nodeId? }');
    const { log, nodeId } = coordinator as Record<string, unknown>;
    if (!isObject(log)) fail('coordinator.log', 'must be a CoordinatorLog (TableLog, FileLog, ...) or { connection, table? }');
    if (!hasMethods(log, ['ensure', 'decide', 'complete', 'get', 'pending'])) {
      connection('coordinator.log.connection', (log as Record<string, unknown>).connection);
      const table = (log as Record<string, unknown>).table;
      if (table !== undefined && typeof table !== 'string') fail('coordinator.log.table', 'must be a table name');
    }
    if (nodeId !== undefined && typeof nodeId !== 'string') fail('coordinator.nodeId', 'must be a string');
  }

  if (relays !== undefined) {
    if (!Array.isArray(relays)) fail('relays', 'must be an array of relay settings: [{ connection, handlers?, ... }]');
    (relays as unknown[]).forEach((relay, index) => {
      const at = `relays[${index}]`;
      if (!isObject(relay)) fail(at, 'must be an object: { connection, handlers?, ... }');
      const entry = relay as Record<string, unknown>;
      for (const key of Object.keys(entry)) if (!RELAY_KEYS.has(key)) fail(`${at}.${key}`, `unknown key; expected one of ${[...RELAY_KEYS].join(', ')}`);
      connection(`${at}.connection`, entry.connection);
      for (const key of RELAY_COUNTS) {
        const value = entry[key];
        if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 1)) fail(`${at}.${key}`, `must be a whole number of 1 or more, got ${JSON.stringify(value)}`);
      }
      if (entry.handlers !== undefined) {
        if (!isObject(entry.handlers)) fail(`${at}.handlers`, 'must be an object of model name → function');
        for (const [model, handler] of Object.entries(entry.handlers as object)) if (typeof handler !== 'function') fail(`${at}.handlers.${model}`, 'must be a function (event) => ...');
      }
      if (entry.backoff !== undefined && !isObject(entry.backoff)) fail(`${at}.backoff`, 'must be { baseMs?, maxMs? }');
    });
  }

  if (sagas !== undefined) {
    if (!isObject(sagas)) fail('sagas', 'must be an object of saga name → Saga (or a function returning one)');
    for (const [name, saga] of Object.entries(sagas as object)) {
      if (typeof saga === 'function') continue;
      if (!hasMethods(saga, ['resume', 'run'])) fail(`sagas.${name}`, 'must be a Saga or a function returning one');
      const sagaName = (saga as { name: unknown }).name;
      if (sagaName !== name) fail(`sagas.${name}`, `is the saga named ${JSON.stringify(sagaName)}: key it by its name`);
    }
  }
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return isObject(value) && methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');
}
