/**
 * Who a request counts against for quotas and limits: its address (request.ip, which honours
 * TRUST_PROXY), with IPv6 reduced to its /64 network. One IPv6 host usually holds a whole /64,
 * so counting single IPv6 addresses would give it 2^64 separate quotas.
 */
import { isIPv4, isIPv6 } from 'node:net'

export function clientId(ip: string | undefined): string {
  if (!ip) return 'unknown'
  const address = ip.split('%')[0] // zone index (fe80::1%eth0)
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped && isIPv4(mapped[1])) return mapped[1]
  if (isIPv4(address)) return address
  if (!isIPv6(address)) return address
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address, lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined]
  const parse = (part: string | undefined) => (part ? part.split(':').flatMap(group) : [])
  const front = parse(head)
  const back = parse(tail)
  const zeros = tail === undefined ? [] : Array<string>(8 - front.length - back.length).fill('0')
  return [...front, ...zeros, ...back]
}

/** A group, or a trailing dotted IPv4 part as its two groups. */
function group(g: string): string[] {
  if (!g.includes('.')) return [parseInt(g, 16).toString(16)]
  const [a, b, c, d] = g.split('.').map(Number)
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
}

/** The client a request counts against. */
export const clientOf = (request: { ip: string }): string => clientId(request.ip)
