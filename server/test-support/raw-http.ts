// One HTTP/1.1 exchange over a raw socket, for what fetch() cannot do: declare a huge body,
// send only its start, and see whether the server answers and closes without reading the rest.
import { connect } from 'node:net'

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
  /** the server ended the connection (we never do) */
  closedByServer: boolean
}

/** `head`: request line and header lines, without line ends. */
export function rawRequest(port: number, head: string[], bodyStart: Buffer = Buffer.alloc(0), timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let closedByServer = false
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer and no close within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('data', (c) => chunks.push(c))
    socket.on('end', () => (closedByServer = true))
    // writing into a connection the server already closed may reset it: the answer came first
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      if (split < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`))
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n')
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4), closedByServer })
    })
    socket.write(head.join('\r\n') + '\r\n\r\n')
    if (bodyStart.byteLength) socket.write(bodyStart)
  })
}
