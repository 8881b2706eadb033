import { ModelDefinitionError } from '../errors.js';
import { deferToClass, ownMeta, type ModelMeta } from './metadata.js';

/**
 * What `@Column()`, `@PrimaryKey()`, `@CreatedAt()` and `@UpdatedAt()` return. It works
 * as a legacy field decorator (`experimentalDecorators: true`) and as a standard
 * (TC39) one, which TypeScript 5+ applies when that flag is off.
 */
export interface FieldDecorator {
  (target: object, property: string | symbol, descriptor?: PropertyDescriptor): void;
  (value: undefined, context: ClassFieldDecoratorContext): void;
}

/** The context object standard decorators receive as their second argument. */
export interface StandardContext {
  kind: string;
  name: string | symbol | undefined;
  static?: boolean;
  private?: boolean;
  metadata?: object;
}

/** The context when a standard decorator is applied; undefined for legacy decorators, which get (prototype, key, descriptor?) or (class). */
export function standardContext(second: unknown): StandardContext | undefined {
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
      checkMember(decorator, 'field', context.name, context.static === true, context.private === true);
      // A standard field decorator cannot reach its class: the step waits on the class's metadata object.
      deferToClass(context.metadata, define(undefined, context.name as string), decorator);
      return;
    }
    if (second === undefined) throw notOnAClass(decorator);
    if (descriptor && (typeof descriptor.value === 'function' || descriptor.get || descriptor.set)) {
      throw new ModelDefinitionError(`${decorator} must decorate a class field; "${String(second)}" is a method or accessor`);
    }
    checkMember(decorator, 'field', second, typeof first === 'function', false);
    define(first as object, second as string)(ownMeta((first as object).constructor));
  }) as FieldDecorator;
}

/** What the lifecycle hook decorators return: a legacy or a standard method decorator. */
export interface MethodDecorator {
  (target: object, property: string | symbol, descriptor?: PropertyDescriptor): void;
  (value: Function, context: ClassMethodDecoratorContext): void;
}

/**
 * A method decorator for both flavours. `define(property)` returns what to do to the
 * class's metadata. The method must be public and named: polyrecord calls it by name.
 */
export function methodDecorator(decorator: string, define: (property: string) => (meta: ModelMeta) => void): MethodDecorator {
  return ((first: unknown, second: unknown) => {
    const context = standardContext(second);
    if (context) {
      if (context.kind !== 'method') throw new ModelDefinitionError(`${decorator} must decorate a method; "${String(context.name)}" is a ${context.kind}`);
      checkMember(decorator, 'method', context.name, context.static === true, context.private === true);
      deferToClass(context.metadata, define(context.name as string), decorator);
      return;
    }
    if (second === undefined || typeof (first as Record<string | symbol, unknown>)[second as string | symbol] !== 'function') {
      throw new ModelDefinitionError(`${decorator} must decorate a method; "${String(second ?? (first as Function).name)}" is not one`);
    }
    checkMember(decorator, 'method', second, typeof first === 'function', false);
    define(second as string)(ownMeta((first as object).constructor));
  }) as MethodDecorator;
}

function notOnAClass(decorator: string): ModelDefinitionError {
  return new ModelDefinitionError(`${decorator} must decorate a class field, not a class; put it on a property such as \`${decorator}({ type: 'string' }) email!: string\``);
}

function checkMember(decorator: string, kind: 'field' | 'method', name: unknown, isStatic: boolean, isPrivate: boolean): void {
  if (isStatic) throw new ModelDefinitionError(`${decorator} must decorate an instance ${kind}; "${String(name)}" is static`);
  if (isPrivate || typeof name !== 'string') throw new ModelDefinitionError(`${decorator} needs a public ${kind} with a string name; "${String(name)}" is not one`);
}
