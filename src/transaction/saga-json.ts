import { SagaSerializationError } from './saga-errors.js';

/**
 * Throws a {@link SagaSerializationError} unless `value` is plain JSON data that reads
 * back as the same value: null, booleans, strings, finite numbers, arrays and plain
 * objects of those. `undefined` is accepted at the top level (stored as null) and as an
 * object property (left out). `what` names the value in the message, e.g.
 * `the result of step "user"`; `root` starts the path, e.g. `result`.
 */
export function assertJsonData(sagaName: string, value: unknown, what: string, root: string): void {
  if (value === undefined) return;
  const problem = findProblem(value, root, new Set());
  if (problem) {
    throw new SagaSerializationError(
      sagaName,
      problem.path,
      `${what} is not plain JSON data: ${problem.path} is ${problem.found}. A saga with a log stores its input and every step result as JSON, so they must be plain data (return e.g. { id: user.id } rather than a model, date.toISOString() rather than a Date)`,
    );
  }
}

interface Problem {
  path: string;
  found: string;
}

function findProblem(value: unknown, path: string, ancestors: Set<object>): Problem | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : { path, found: String(value) };
    case 'undefined':
      return { path, found: 'undefined (it would read back as null)' };
    case 'bigint':
      return { path, found: 'a bigint (store it as a string)' };
    case 'function':
      return { path, found: 'a function' };
    case 'symbol':
      return { path, found: 'a symbol' };
  }
  if (value === null) return undefined;
  const object = value as object;
  if (ancestors.has(object)) return { path, found: 'a circular reference' };
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        if (!(i in object)) return { path: `${path}[${i}]`, found: 'an array hole (it would read back as null)' };
        const problem = findProblem(object[i], `${path}[${i}]`, ancestors);
        if (problem) return problem;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(object) as object | null;
    if (proto !== Object.prototype && proto !== null) return { path, found: describeInstance(object) };
    for (const [key, item] of Object.entries(object)) {
      if (item === undefined) continue;
      const problem = findProblem(item, `${path}${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`, ancestors);
      if (problem) return problem;
    }
    return undefined;
  } finally {
    ancestors.delete(object);
  }
}

function describeInstance(object: object): string {
  if (object instanceof Date) return 'a Date';
  const name = (object.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name ? `an instance of ${name}` : 'an object with a custom prototype';
}
