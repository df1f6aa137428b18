/** Said while the server is still starting: the page waits and goes on by itself. */
export function ServerWarmup({ reason }: { reason?: string }) {
  if (!reason) return null
  return (
    <p className="warmup" role="status" data-testid="warmup">
      The server is loading its models (it says: {reason}). This page waits and carries on by itself once it is ready.
    </p>
  )
}
