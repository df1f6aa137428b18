// Worker-thread entry in plain JS: registers tsx inside the thread, then runs
// bench.ts's worker branch (see server/pool/worker-entry.mjs for why).
import { register } from 'tsx/esm/api'

register()
await import('./bench.ts')
