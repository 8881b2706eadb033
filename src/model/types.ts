/** The data properties of a model instance (methods left out). */
export type Attributes<M> = { [K in keyof M as M[K] extends (...args: never[]) => unknown ? never : K extends string ? K : never]: M[K] };

/** A data property name of a model instance. */
export type Prop<M> = keyof Attributes<M> & string;
