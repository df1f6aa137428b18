/** A model in plain words: its title, what it costs here, as the server measured it (never a guess of ours). */
import type { ListedModel } from '../api/he-worker-types'
import { bytes, ms } from './format'

/** The description's lead ("Clothing (Fashion-MNIST)"), without its architecture after the colon. */
export function modelTitle(m: ListedModel): string {
  return m.description.split(':')[0].trim() || m.name
}

/** The lead without the data set's name in brackets, for a compact control ("Clothing"). */
export function shortTitle(m: ListedModel): string {
  return modelTitle(m).replace(/\s*\(.*\)\s*$/, '') || m.name
}

/** The architecture after the description's colon. */
export function architecture(m: ListedModel): string {
  return m.description.split(':').slice(1).join(':').trim() || m.description
}

export function speedText(m: ListedModel): string {
  return m.cost.serverMs ? `about ${ms(m.cost.serverMs.median)} per image on this server (median of ${m.cost.serverMs.samples})` : 'not yet measured on this server'
}

export function trafficText(m: ListedModel): string {
  // the page packs keys and requests to sizes the model fixes: the planned sizes are exact
  const { evaluationKeyBytes: keys, requestBytes: request, responseBytes: response } = m.cost
  const keyText = keys === null ? 'keys of a size not yet known' : `${bytes(keys)} of keys once`
  const perImage = request === null ? '' : `, then ${bytes(request)} per image`
  const back = response === null ? '' : `; receives ${bytes(response)} per image`
  return `Sends ${keyText}${perImage}${back}`
}
