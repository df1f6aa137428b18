import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const apiPort = Number(process.env.API_PORT ?? 8080)

export default defineConfig({
  plugins: [react()],
  // node-seal's wasm path breaks under dependency pre-bundling (404 under .vite/deps)
  optimizeDeps: { exclude: ['node-seal'] },
  worker: { format: 'es' },
  build: { target: 'es2023', outDir: 'dist' },
  server: {
    port: 5173,
    proxy: { '/api': `http://127.0.0.1:${apiPort}`, '/healthz': `http://127.0.0.1:${apiPort}` },
  },
})
