import type { ActiveRecord } from './active-record.js';

/**
 * The data properties of a model instance: methods, and the getters every model inherits
 * from `ActiveRecord` (`isPersisted`, `connectionName`), left out.
 */
export type Attributes<M> = {
  [K in keyof M as M[K] extends (...args: never[]) => unknown ? never : K extends keyof ActiveRecord ? never : K extends string ? K : never]: M[K];
};

/** A data property name of a model instance. */
export type Prop<M> = keyof Attributes<M> & string;

/** A model instance loaded with only properties `K` (`select()`): its methods and getters stay, the other columns are not there. */
export type Selected<M, K extends keyof M> = Pick<M, K | Exclude<keyof M, Prop<M>>>;
