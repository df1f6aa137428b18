import { bytes, ms } from '../format'
import { memo } from 'react'
import { useBuildInfo } from '../build-info'
import type { RequestRecord, SessionInfo } from '../../api/he-worker-types'
import type { State } from '../state'

/** One model's parameters and keys: what protects the images sent with it. */
function Parameters({ info }: { info: SessionInfo }) {
  const he = info.model.he
  return (
    <dl className="facts" data-testid="parameters" data-model={info.model.name}>
      <div><dt>Model</dt><dd>{info.model.name} {info.model.version}</dd></div>
      <div><dt>Input</dt><dd>{info.model.input.width}×{info.model.input.height}×{info.model.input.channels}, {info.model.client.input.ciphertexts} ciphertext(s) a request</dd></div>
      <div><dt>Scheme</dt><dd>CKKS (Microsoft SEAL 4.1, WebAssembly)</dd></div>
      <div><dt>Ring degree N</dt><dd>{he.polyModulusDegree}</dd></div>
      <div><dt>Modulus primes (bits)</dt><dd>{he.coeffModulusBits.join(' + ')} = {he.coeffModulusBits.reduce((a, b) => a + b, 0)}</dd></div>
      <div><dt>Scale</dt><dd>2^{he.scaleBits}</dd></div>
      <div><dt>Security level</dt><dd>{he.securityLevel === 'tc128' ? '128-bit classical (HE standard)' : he.securityLevel}</dd></div>
      <div><dt>Rotation keys</dt><dd>{info.model.plan.rotationSteps.length} steps</dd></div>
      <div><dt>Evaluation keys</dt><dd>{bytes(info.evaluationKeyBytes)}</dd></div>
      <div><dt>Public key fingerprint</dt><dd><code>{info.keyFingerprint}</code> (SHA-256 of the evaluation keys)</dd></div>
    </dl>
  )
}

/** What left this browser, the parameters protecting it, what the server can and cannot learn, and how to check the code. */
export const PrivacyInspector = memo(function PrivacyInspector({ sessions, selected, requests }: { sessions: State['sessions']; selected?: string; requests: RequestRecord[] }) {
  // the selected model first, then every other model this tab has keys for
  const infos = Object.entries(sessions)
    .sort(([a], [b]) => (a === selected ? -1 : b === selected ? 1 : a.localeCompare(b)))
    .flatMap(([, s]) => (s.info ? [s.info] : []))
  const polls = requests.filter((r) => r.carries === 'progress poll (no body)')
  const listed = requests.filter((r) => r.carries !== 'progress poll (no body)')
  const build = useBuildInfo()
  const origin = location.origin
  return (
    <section className="panel inspector" aria-labelledby="inspector-title">
      <h2 id="inspector-title" className="panel-title">Privacy inspector</h2>

      <h3>What the server can see</h3>
      <ul className="threats">
        <li><strong>Sees:</strong> ciphertexts and your evaluation keys (public material), when you send them, how long it computes (the same steps for every image), your IP address and the model you chose.</li>
        <li><strong>Sizes</strong> are the same for every image of a model, to the byte: keys, requests and answers are packed to sizes the model fixes.</li>
        <li><strong>Cannot see:</strong> your image, the model&apos;s input (28×28 or 32×32), the scores or the answer. Results come back encrypted and only this tab can decrypt them.</li>
        <li><strong>Never sent back:</strong> this page sends no decrypted result, nor anything computed from one, to any server (in CKKS, decryptions in a server&apos;s hands can reveal the secret key: Li and Micciancio, 2021).</li>
        <li><strong>Your secret key</strong> is generated in a worker in this tab and never sent anywhere. Closing the tab drops it.</li>
        <li><strong>Keeps to itself:</strong> the model&apos;s weights. You get the model&apos;s shape and its scores for your images, so many queries could approximate it; the operator can slow that with rate limits, query budgets and noise on the scores.</li>
      </ul>

      <h3>Who sent this page&apos;s code</h3>
      <p className="muted">
        The same server. Encryption cannot protect you from the page itself: a dishonest operator could send code that uploads your image. You can check
        what it sent.
      </p>
      <dl className="facts">
        <div>
          <dt>Build hash, as the server reports it</dt>
          <dd>
            <code data-testid="build-hash" data-status={build.status}>
              {build.status === 'ok' ? build.buildHash : build.status === 'loading' ? '…' : `unavailable (${build.reason})`}
            </code>
          </dd>
        </div>
      </dl>
      <ul className="threats">
        <li>Compare it with the hash published for the release. The same server reports it, so on its own it proves nothing.</li>
        <li>
          To check what is served: check out the release, run <code>npm run build</code> (same build, same hash), then{' '}
          <code>npm run verify:deployment -- {origin}/</code>. It covers what the server sent to that check, not what it sends every visitor.
        </li>
        <li>
          Or serve the page yourself: <code>npm run build &amp;&amp; API_TARGET={origin} npx vite preview</code> runs your own build and forwards only
          the API calls to this server.
        </li>
      </ul>

      <h3>Encryption parameters</h3>
      {infos.length ? infos.map((info) => <Parameters key={info.model.name} info={info} />) : <p className="muted">Shown once keys are ready.</p>}

      <h3>Every API request this page made</h3>
      <p className="muted">Besides these, the page only downloads its own files (code, WebAssembly, build manifest), with no request body.</p>
      {polls.length > 0 && (
        <p className="muted" data-testid="poll-count">
          Plus {polls.length} progress poll{polls.length === 1 ? '' : 's'} (GET, no body) while the server computed, not listed.
        </p>
      )}
      {listed.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Request log">
          <table className="requests">
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col">Model</th>
                <th scope="col">Carried</th>
                <th scope="col">Sent</th>
                <th scope="col">Received</th>
                <th scope="col">SHA-256</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {listed.map((r) => (
                <tr key={r.id} data-testid="request-row">
                  <td><code>{r.method} {r.path.replace(/sessions\/[^/]+/, 'sessions/…').replace(/jobs\/[^/]+/, 'jobs/…')}</code></td>
                  <td>{r.model ?? '–'}</td>
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
