// Preloaded (`node --import`) into the harness's Node children (server/test-support/reaper.ts):
// once the process that spawned this one is gone (this one re-parented), exit, so that no
// evaluator or API replica outlives a test run that was SIGKILLed.
const parent = process.ppid
const timer = setInterval(() => {
  if (process.ppid !== parent) process.exit(1)
}, 500)
timer.unref()
