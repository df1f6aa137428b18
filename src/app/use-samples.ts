import { useEffect, useState } from 'react'
import type { SampleList } from '../api/samples'
import { sampleList } from './samples'

/** The sample list of `model` once it has come (undefined before, or when the server lists none). */
export function useSamples(model: string | undefined): SampleList | undefined {
  const [list, setList] = useState<SampleList>()
  useEffect(() => {
    if (!model) return
    let live = true
    sampleList(model)
      .then((l) => live && setList(l))
      .catch(() => live && setList(undefined))
    return () => {
      live = false
    }
  }, [model])
  return list?.model === model ? list : undefined
}
