import { ModelDefinitionError } from '../errors.js';
import { ActiveRecord } from './active-record.js';
import { applyPending, deferToClass, ownMeta, type ModelMeta } from './metadata.js';

/**
 * What `@Column()`, `@PrimaryKey()`, `@CreatedAt()` and `@UpdatedAt()` return. It works
 * as a legacy field decorator (`experimentalDecorators: true`) and as a standard
 * (TC39) one, which TypeScript 5+ applies when that flag is off.
 */
export interface FieldDecorator {
  (target: object, property: string | symbol, descriptor?: PropertyDescriptor): void;
  (value: undefined, context: ClassFieldDecoratorContext): void;
}

/** What `@Model()` returns: a legacy or a standard class decorator for an `ActiveRecord` subclass. */
export interface ModelDecorator {
  (target: Function): void;
  (value: Function, context: ClassDecoratorContext): void;
}

/** The context object standard decorators receive as their second argument. */
interface StandardContext {
  kind: string;
  name: string | symbol | undefined;
  static?: boolean;
  private?: boolean;
  metadata?: object;
}

// Legacy decorators get (prototype, key, descriptor?) or (class); standard ones (value, context).
function standardContext(second: unknown): StandardContext | undefined {
  return typeof second === 'object' && second !== null && typeof (second as StandardContext).kind === 'string' ? (second as StandardContext) : undefined;
}

/**
 * A field decorator for both flavours. `define(target, property)` validates at once and
 * returns what to do to the class's metadata. `target` is the prototype under legacy
 * decorators (where `design:type` metadata may live) and undefined under standard ones.
 */
export function fieldDecorator(decorator: string, define: (target: object | undefined, property: string) => (meta: ModelMeta) => void): FieldDecorator {
  return ((first: unknown, second: unknown, descriptor?: PropertyDescriptor) => {
    const context = standardContext(second);
    if (context) {
      if (context.kind === 'class') throw notOnAClass(decorator);
      if (context.kind !== 'field') throw new ModelDefinitionError(`${decorator} must decorate a class field; "${String(context.name)}" is a ${context.kind}`);
      checkField(decorator, context.name, context.static === true, context.private === true);
      // A standard field decorator cannot reach its class: the step waits on the class's metadata object.
      deferToClass(context.metadata, define(undefined, context.name as string), decorator);
      return;
    }
    if (second === undefined) throw notOnAClass(decorator);
    if (descriptor && (typeof descriptor.value === 'function' || descriptor.get || descriptor.set)) {
      throw new ModelDefinitionError(`${decorator} must decorate a class field; "${String(second)}" is a method or accessor`);
    }
    checkField(decorator, second, typeof first === 'function', false);
    define(first as object, second as string)(ownMeta((first as object).constructor));
  }) as FieldDecorator;
}

function notOnAClass(decorator: string): ModelDefinitionError {
  return new ModelDefinitionError(`${decorator} must decorate a class field, not a class; put it on a property such as \`${decorator}({ type: 'string' }) email!: string\``);
}

function checkField(decorator: string, name: unknown, isStatic: boolean, isPrivate: boolean): void {
  if (isStatic) throw new ModelDefinitionError(`${decorator} must decorate an instance field; "${String(name)}" is static`);
  if (isPrivate || typeof name !== 'string') throw new ModelDefinitionError(`${decorator} needs a public field with a string name; "${String(name)}" cannot be a column`);
}

/** A class decorator for both flavours: `apply` receives the metadata of the `ActiveRecord` subclass it decorates. */
export function modelDecorator(decorator: string, apply: (meta: ModelMeta) => void): ModelDecorator {
  return ((value: unknown, second?: unknown) => {
    const context = standardContext(second);
    if (context ? context.kind !== 'class' : second !== undefined || typeof value !== 'function') {
      throw new ModelDefinitionError(`${decorator} must decorate a class that extends ActiveRecord; "${String(context?.name ?? second)}" is a ${context?.kind ?? 'class member'}`);
    }
    const meta = ownMeta(checkModelClass(decorator, value));
    // Standard field decorators queued their columns on the metadata object, which is only
    // attached to the class (as Symbol.metadata) after its class decorators have run.
    if (context) applyPending(meta, context.metadata);
    apply(meta);
  }) as ModelDecorator;
}

/** The class itself when it extends ActiveRecord; otherwise a ModelDefinitionError saying so. */
export function checkModelClass(decorator: string, value: unknown): Function {
  if (typeof value === 'function' && value.prototype instanceof ActiveRecord) return value;
  const name = typeof value === 'function' && value.name ? value.name : 'User';
  throw new ModelDefinitionError(`${decorator}: ${typeof value === 'function' ? name : String(value)} does not extend ActiveRecord; declare it as \`class ${name} extends ActiveRecord\``);
}
