import { PolyrecordError } from '../errors.js';

/**
 * An operation was asked for something that does not exist or is ambiguous (an unknown
 * saga name, an event id without its connection when several have an outbox). Nothing was
 * changed; `field` names the input and `known` lists what would have been accepted.
 *
 * @example
 * ```ts
 * try { await resumeSaga('create-usr') }
 * catch (e) { if (e instanceof OperationInputError) console.error(e.message, e.known) } // known: ['create-user']
 * ```
 */
export class OperationInputError extends PolyrecordError {
  readonly field: string;
  readonly known: readonly string[];

  constructor(field: string, message: string, known: readonly string[] = []) {
    super('E_OPERATION_INPUT', message);
    this.field = field;
    this.known = known;
  }
}

/** The names in a message: `"a", "b"`, or `none`. */
export function nameList(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((name) => `"${name}"`).join(', ');
}
