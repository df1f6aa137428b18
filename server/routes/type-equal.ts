/**
 * `true` only when A and B are assignable to each other: a schema's static type checked against
 * the wire type both sides use, so the schema and the TypeScript types cannot drift apart unnoticed.
 */
export type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
