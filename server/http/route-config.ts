/**
 * What a route declares about itself in its Fastify `config`, read by the hooks that guard
 * every request (rate-limit.ts, body-policy.ts). Routes without a config are GETs costing 1
 * that take no body; so is the not-found handler.
 */
export type RouteCost = 'free' | 'keys' | 'classify'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** rate-limit cost class; absent = 1 point */
    cost?: RouteCost
    /** the route reads an application/octet-stream body (its own bodyLimit); absent = no body at all */
    binaryBody?: boolean
  }
}
