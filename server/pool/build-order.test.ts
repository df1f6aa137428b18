/**
 * The build rule on its own: models cheapest first, and a worker starts a build only while every
 * served model keeps a worker that is not building. Replays whole starts of a pool to show that
 * every worker ends with every model and that no served model is ever left without a free worker.
 */
import { describe, expect, it } from 'vitest'
import { randomModel } from '../../src/he/random-model'
import { derivePlan } from '../../src/he/plan'
import { buildOrder, nextBuild, type BuildingWorker } from './build-order'

const worker = (models: string[] = [], building?: string): BuildingWorker => ({ loaded: true, models: new Set(models), building, busy: false })

/** Runs builds to the end, one finishing at a time (the oldest first); returns the order of events. */
function replay(workers: BuildingWorker[], order: string[]): string[] {
  const events: string[] = []
  const started: BuildingWorker[] = []
  for (let step = 0; step < 100; step++) {
    for (const w of workers) {
      const m = nextBuild(w, workers, order)
      if (m !== undefined) {
        w.building = m
        started.push(w)
        events.push(`${workers.indexOf(w)}+${m}`)
      }
    }
    // whatever is served keeps a worker that is not building
    const served = new Set(workers.flatMap((w) => [...w.models]))
    if (workers.length > 1) for (const m of served) expect(workers.some((w) => w.building === undefined && w.models.has(m))).toBe(true)
    const done = started.shift()
    if (!done) break
    ;(done.models as Set<string>).add(done.building!)
    done.building = undefined
  }
  return events
}

describe('build order', () => {
  it('puts the model whose build writes the fewest bytes first', () => {
    const small = randomModel({ name: 'b-small', filters: 2 }).manifest
    const large = randomModel({ name: 'a-large', filters: 16 }).manifest
    expect(buildOrder([large, small])).toEqual(['b-small', 'a-large'])
  })

  it('orders by the plans handed in rather than deriving them again', () => {
    const small = randomModel({ name: 'b-small', filters: 2 }).manifest
    const large = randomModel({ name: 'a-large', filters: 16 }).manifest
    const plans = new Map([[small.name, derivePlan(small)], [large.name, derivePlan(large)]])
    expect(buildOrder([large, small], plans)).toEqual(['b-small', 'a-large'])
    // each model given the other's plan: the order follows the plans it was handed
    const swapped = new Map([[small.name, plans.get(large.name)!], [large.name, plans.get(small.name)!]])
    expect(buildOrder([large, small], swapped)).toEqual(['a-large', 'b-small'])
  })

  it('builds the first model on every fresh worker at once, then one worker at a time', () => {
    const workers = [worker(), worker()]
    const events = replay(workers, ['s', 'm', 'l'])
    expect(events.slice(0, 2)).toEqual(['0+s', '1+s'])
    for (const w of workers) expect([...w.models]).toEqual(['s', 'm', 'l'])
  })

  it('lets a replacement build while a full worker serves, and a lone worker build on', () => {
    const full = worker(['s', 'm', 'l'])
    const fresh = worker()
    expect(nextBuild(fresh, [full, fresh], ['s', 'm', 'l'])).toBe('s')
    // the only server of `s` does not start another build while the other worker builds
    expect(nextBuild(worker(['s']), [worker(['s']), worker([], 's')], ['s', 'm'])).toBe('m')
    const onlyServer = worker(['s'])
    expect(nextBuild(onlyServer, [onlyServer, worker([], 'm')], ['s', 'm'])).toBeUndefined()
    const alone = worker(['s'])
    expect(nextBuild(alone, [alone], ['s', 'm'])).toBe('m')
  })

  it('gives no build to a worker that is busy, loading SEAL or already building', () => {
    const others = [worker(['s', 'm'])]
    for (const w of [{ ...worker(), busy: true }, { ...worker(), loaded: false }, worker([], 's')]) expect(nextBuild(w, [w, ...others], ['s', 'm'])).toBeUndefined()
  })
})
