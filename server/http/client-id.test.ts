import { describe, expect, it } from 'vitest'
import { clientId } from './client-id'

describe('clientId', () => {
  it('keeps IPv4 addresses, IPv4-mapped IPv6 included', () => {
    expect(clientId('203.0.113.7')).toBe('203.0.113.7')
    expect(clientId('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(clientId('::FFFF:127.0.0.1')).toBe('127.0.0.1')
  })

  it('groups IPv6 addresses by /64: one host cannot be 2^64 clients', () => {
    const a = clientId('2001:db8:abcd:12::1')
    expect(a).toBe('2001:db8:abcd:12::/64')
    expect(clientId('2001:0db8:abcd:0012:ffff:1:2:3')).toBe(a)
    expect(clientId('2001:db8:abcd:12:0:0:0:ffff')).toBe(a)
    expect(clientId('2001:db8:abcd:13::1')).not.toBe(a)
    expect(clientId('::1')).toBe('0:0:0:0::/64')
    expect(clientId('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(clientId('2001:db8::1.2.3.4')).toBe('2001:db8:0:0::/64')
  })

  it('never throws on odd input', () => {
    expect(clientId(undefined)).toBe('unknown')
    expect(clientId('')).toBe('unknown')
    expect(clientId('not-an-ip')).toBe('not-an-ip')
  })
})
