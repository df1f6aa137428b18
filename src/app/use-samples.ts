import { useEffect, useState } from 'react'
import type { SampleList } from '../api/samples'
import { sampleList } from './samples'

/**
 * The sample list of `model` once it has come (`list` undefined before, or when the server lists
 * none), and whether it is still on its way, so the page can hold the gallery's place meanwhile.
 */
export function useSamples(model: string | undefined): { list?: SampleList; loading: boolean } {
  const [settled, setSettled] = useState<{ model: string; list?: SampleList }>()
  useEffect(() => {
    if (!model) return
    let live = true
    sampleList(model)
      .then((list) => live && setSettled({ model, list }))
      .catch(() => live && setSettled({ model }))
    return () => {
      live = false
    }
  }, [model])
  const current = settled?.model === model ? settled : undefined
  return { list: current?.list, loading: model !== undefined && current === undefined }
}
