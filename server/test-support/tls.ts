/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1 (the openssl CLI), for
 * tests of TLS connections; written to a fresh temp dir that the caller removes.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestCertificates {
  dir: string
  caFile: string
  certFile: string
  keyFile: string
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'blindfold-tls-'))
  const f = (name: string) => join(dir, name)
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' })
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=blindfold test CA', '-keyout', f('ca.key'), '-out', f('ca.crt'))
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'))
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n')
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.crt'))
  return { dir, caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key') }
}
