/**
 * Connections are bounded, so idle sockets cannot exhaust the process's file descriptors:
 * - in all: `server.maxConnections` (CONNECTIONS_MAX); Node closes any socket beyond it at once;
 * - per client: at most CONNECTIONS_PER_CLIENT open sockets from one socket address (IPv6 by
 *   /64, as client-id.ts counts clients). The socket's own address is counted, not a forwarded
 *   one: no header has arrived when a connection opens. A trusted proxy (TRUST_PROXY addresses,
 *   CIDRs or presets) carries many clients and is held only to the total; with TRUST_PROXY=1
 *   every address is counted, since any client may then be a direct one. A connection over the
 *   cap is answered 503 too_many_connections and closed before any of its request is read;
 * - in time: a socket that has not sent complete headers within HEADERS_TIMEOUT_MS, or sits idle
 *   between requests longer than KEEP_ALIVE_TIMEOUT_MS, is closed; the whole request (headers and
 *   body) must arrive within the request timeout. Node checks these every CHECK_INTERVAL_MS.
 *   An idle socket's timeout closes it only once what has arrived on it was read
 *   (closeIdleAfterReads): a client may reuse a kept-alive connection just before the timeout,
 *   and while the event loop is busy the overdue timer would otherwise run before that request
 *   is read, resetting a connection the client had every right to use.
 */
import type { Server, ServerOptions } from 'node:http'
import { BlockList, isIPv4, isIPv6, type Socket } from 'node:net'
import { clientId } from './client-id'
import { writeRawError } from './framework-errors'

export interface ConnectionConfig {
  connectionsMax: number
  connectionsPerClient: number
  keepAliveTimeoutMs: number
  headersTimeoutMs: number
  trustProxy: boolean | string
}

/** How often Node looks for sockets past their headers or request timeout. */
const CHECK_INTERVAL_MS = 1000

/** The Fastify options that bound a connection's time. */
export function connectionTimeouts(config: Pick<ConnectionConfig, 'keepAliveTimeoutMs' | 'headersTimeoutMs'>): { keepAliveTimeout: number; http: ServerOptions } {
  return {
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, config.headersTimeoutMs) },
  }
}

/**
 * Closes a socket whose timeout fired (idle between requests) after the event loop's poll phase,
 * and only if nothing more was read from it by then: timers run before pending reads, so a
 * request that arrived while the loop was busy is served instead of reset. With a 'timeout'
 * listener on the server, Node leaves closing to it.
 */
export function closeIdleAfterReads(server: Server): void {
  server.on('timeout', (socket: Socket) => {
    const read = socket.bytesRead
    setImmediate(() => {
      if (socket.bytesRead === read) socket.destroy()
    })
  })
}

/** Counts the server's sockets per client address and refuses those over the caps; answers the open count of a client. */
export function limitConnections(server: Server, config: ConnectionConfig, onRefused?: (code: string) => void): { openFrom(address: string): number } {
  server.maxConnections = config.connectionsMax
  closeIdleAfterReads(server)
  const exempt = trustedProxies(config.trustProxy)
  const open = new Map<string, number>()
  // ahead of Node's own listener: a socket destroyed here never gets an HTTP parser
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress
    if (!address || exempt(address)) return
    const client = clientId(address)
    const count = open.get(client) ?? 0
    if (count >= config.connectionsPerClient) {
      if (writeRawError(socket, 503, 'too_many_connections', `at most ${config.connectionsPerClient} open connections per client`, { 'retry-after': '1' })) {
        onRefused?.('too_many_connections')
      }
      socket.destroy()
      return
    }
    open.set(client, count + 1)
    socket.once('close', () => {
      const left = (open.get(client) ?? 1) - 1
      if (left > 0) open.set(client, left)
      else open.delete(client)
    })
  })
  return { openFrom: (address) => open.get(clientId(address)) ?? 0 }
}

/** proxy-addr's presets, as Fastify reads them in TRUST_PROXY. */
const PRESETS: Record<string, string[]> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
}

/** Whether a socket address is a trusted proxy's (not TRUST_PROXY=1: then nobody is exempt). */
function trustedProxies(trust: boolean | string): (address: string) => boolean {
  if (typeof trust !== 'string') return () => false
  const list = new BlockList()
  for (const entry of trust.split(',').flatMap((e) => PRESETS[e.trim()] ?? [e.trim()])) {
    const [address, bits] = entry.split('/')
    const family = isIPv6(address) ? 'ipv6' : isIPv4(address) ? 'ipv4' : undefined
    if (!family) continue // Fastify itself refuses what proxy-addr cannot read
    if (bits === undefined) list.addAddress(address, family)
    else list.addSubnet(address, Number(bits), family)
  }
  return (address) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    const ip = mapped ? mapped[1] : address.split('%')[0]
    return list.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6')
  }
}
