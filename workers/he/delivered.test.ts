/**
 * The race that left a card in "decrypting" after its error: real comlink over
 * a real MessageChannel, a worker-side method that reports stages through a
 * proxied callback and then fails or returns at once.
 */
import { expose, proxy, wrap, type Remote } from 'comlink'
import { afterEach, describe, expect, it } from 'vitest'
import { afterDelivery, delivered } from './delivered'

type Api = {
  run(fail: boolean, onStage: (s: string) => void): Promise<string>
  runRaw(fail: boolean, onStage: (s: string) => void): Promise<string>
}

const stagesThenSettle = async (fail: boolean, say: (s: string) => void) => {
  say('encrypting')
  say('sending')
  say('decrypting')
  if (fail) throw new Error('not a response container')
  return 'logits'
}

let ports: MessagePort[] = []
afterEach(() => {
  for (const p of ports) p.close()
  ports = []
})

function connect(): Remote<Api> {
  const { port1, port2 } = new MessageChannel()
  ports.push(port1, port2)
  const api: Api = {
    run(fail, onStage) {
      const stage = delivered(onStage)
      return afterDelivery(stagesThenSettle(fail, stage.call), stage)
    },
    runRaw: (fail, onStage) => stagesThenSettle(fail, onStage),
  }
  expose(api, port1)
  return wrap<Api>(port2)
}

/** What the page has seen of the stages when the method's result (or error) reaches it. */
async function seenAtSettle(remote: Remote<Api>, method: 'run' | 'runRaw', fail: boolean): Promise<string[]> {
  const seen: string[] = []
  return remote[method](fail, proxy((s: string) => void seen.push(s))).then(
    () => [...seen],
    () => [...seen],
  )
}

describe('delivered', () => {
  it('every stage has reached the page before the result or the error does', async () => {
    const remote = connect()
    for (let i = 0; i < 50; i++) {
      for (const fail of [false, true]) {
        expect(await seenAtSettle(remote, 'run', fail)).toEqual(['encrypting', 'sending', 'decrypting'])
      }
    }
  })

  it('without it, the page sees the error before the last stage (so the test above can fail)', async () => {
    const remote = connect()
    let early = 0
    for (let i = 0; i < 50; i++) if ((await seenAtSettle(remote, 'runRaw', true)).length < 3) early++
    // Node 24 delivers the result port's message first every time (50 of 50 when written);
    // Chromium did so now and then, which is how CI caught it
    expect(early).toBeGreaterThan(0)
  })

  it('a callback that throws or rejects does not stop the work nor the flush', async () => {
    const throwing = delivered(() => {
      throw new Error('page gone')
    })
    const rejecting = delivered(() => Promise.reject(new Error('port closed')))
    throwing.call()
    rejecting.call()
    await expect(afterDelivery(Promise.resolve(7), throwing, rejecting)).resolves.toBe(7)
    const none = delivered<[string]>(undefined)
    none.call('x')
    await expect(afterDelivery(Promise.reject(new Error('boom')), none)).rejects.toThrow('boom')
  })
})
