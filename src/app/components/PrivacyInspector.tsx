import { bytes, ms } from '../format'
import { memo } from 'react'
import type { RequestRecord, SessionInfo } from '../../api/he-worker-types'

/** What left this browser, the parameters protecting it, and what the server can and cannot learn. */
export const PrivacyInspector = memo(function PrivacyInspector({ info, requests }: { info?: SessionInfo; requests: RequestRecord[] }) {
  const he = info?.model.he
  return (
    <section className="panel inspector" aria-labelledby="inspector-title">
      <h2 id="inspector-title" className="panel-title">Privacy inspector</h2>

      <h3>What the server can see</h3>
      <ul className="threats">
        <li><strong>Sees:</strong> ciphertexts, their sizes, when you send them and how long it takes to compute.</li>
        <li><strong>Cannot see:</strong> your image, the 28×28 input, or the answer. Results come back encrypted and only this tab can decrypt them.</li>
        <li><strong>Keeps to itself:</strong> the model's weights never leave the server; you see only the public model shape.</li>
        <li><strong>Your secret key</strong> is generated in a worker in this tab and never sent anywhere. Closing the tab drops it.</li>
      </ul>

      <h3>Encryption parameters</h3>
      {he && info ? (
        <dl className="facts">
          <div><dt>Model</dt><dd>{info.model.name} {info.model.version}</dd></div>
          <div><dt>Scheme</dt><dd>CKKS (Microsoft SEAL 4.1, WebAssembly)</dd></div>
          <div><dt>Ring degree N</dt><dd>{he.polyModulusDegree}</dd></div>
          <div><dt>Modulus primes (bits)</dt><dd>{he.coeffModulusBits.join(' + ')} = {he.coeffModulusBits.reduce((a, b) => a + b, 0)}</dd></div>
          <div><dt>Scale</dt><dd>2^{he.scaleBits}</dd></div>
          <div><dt>Security level</dt><dd>{he.securityLevel === 'tc128' ? '128-bit classical (HE standard)' : he.securityLevel}</dd></div>
          <div><dt>Rotation keys</dt><dd>{info.model.plan.rotationSteps.length} steps</dd></div>
          <div><dt>Public key fingerprint</dt><dd><code>{info.keyFingerprint}</code> (SHA-256 of the evaluation keys)</dd></div>
        </dl>
      ) : (
        <p className="muted">Shown once keys are ready.</p>
      )}

      <h3>Every request this page made</h3>
      {requests.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Request log">
          <table className="requests">
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col">Carried</th>
                <th scope="col">Sent</th>
                <th scope="col">Received</th>
                <th scope="col">SHA-256</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {requests.map((r) => (
                <tr key={r.id} data-testid="request-row">
                  <td><code>{r.method} {r.path.replace(/sessions\/[^/]+/, 'sessions/…')}</code></td>
                  <td>{r.carries}</td>
                  <td>{bytes(r.bytesSent)}</td>
                  <td>{bytes(r.bytesReceived)}</td>
                  <td><code>{r.sha256Prefix ?? '–'}</code></td>
                  <td>{r.status} · {ms(r.ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
})
