import type { ModelQuery } from '../query-builder.js';

/** The record type a relation property holds: `Album` for `Album[]` and for `Album | null`. */
export type RelatedRecord<T> = T extends readonly (infer U)[] ? U : NonNullable<T>;

/** Property names of `M` that may be relations (object-valued), for editor completion. */
export type RelationName<M> = {
  [K in keyof M & string]: NonNullable<M[K]> extends object ? (NonNullable<M[K]> extends Date | Function | Uint8Array ? never : K) : never;
}[keyof M & string];

/** A relation name or a dotted path through relations (`'albums.tracks'`). */
export type PreloadPath<M> = RelationName<M> | `${RelationName<M>}.${string}`;

/** The query a constraint callback receives for relation path `P` of `M` (the last step's model). */
export type RelatedQueryOf<M, P extends string> = P extends `${infer Head}.${infer Rest}`
  ? Head extends keyof M
    ? RelatedQueryOf<RelatedRecord<M[Head]>, Rest>
    : ModelQuery<object>
  : P extends keyof M
    ? RelatedRecord<M[P]> extends object
      ? ModelQuery<RelatedRecord<M[P]>>
      : ModelQuery<object>
    : ModelQuery<object>;
