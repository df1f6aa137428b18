// Worker-thread entry in plain JS: registers tsx inside this thread, then loads the TypeScript
// worker (Node's own type stripping alone cannot resolve its extensionless imports).
import { register } from 'tsx/esm/api'

register()
await import('./prepare-worker.ts')
