/**
 * Starts the API server as a child process for the scripts that drive a browser against it
 * (bench:e2e, screenshots), and stops it with everything it started.
 */
import { spawn } from 'node:child_process'

export function startServer(command: string, port: number): { stopServer: () => void } {
  // its own process group, so that stopping it stops the node under the shell too
  const server = spawn(command, {
    shell: true,
    detached: true,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const stopServer = () => {
    try {
      if (server.pid) process.kill(-server.pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  return { stopServer }
}
