/**
 * Everything a load test starts (server, Chromium, peers) is registered here and stopped in reverse
 * order, once: at the end, on SIGINT/SIGTERM, or on an uncaught error, so no process outlives the run.
 */

const stops: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | null = null;
let stopping = false;

export function onCleanup(stop: () => Promise<void>): void {
  stops.push(stop);
}

export function cleanup(log: (message: string) => void): Promise<void> {
  cleaning ??= (async () => {
    for (const stop of stops.reverse()) await stop().catch((err: Error) => log(`cleanup: ${err.message}`));
  })();
  return cleaning;
}

/** True once a signal asked to stop: what fails afterwards is the stopping, not the run. */
export function isStopping(): boolean {
  return stopping;
}

export function installHandlers(log: (message: string) => void): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      stopping = true;
      log(`${signal}: stopping viewers, Chromium and the server`);
      void cleanup(log).then(() => process.exit(code));
    });
  }
  process.on('uncaughtException', (err) => {
    log(`uncaught: ${err.stack ?? err.message}`);
    void cleanup(log).then(() => process.exit(1));
  });
  // A peer library's stray rejection must not end a run (and orphan the server): logged once per message.
  const seen = new Set<string>();
  process.on('unhandledRejection', (reason) => {
    const message = reason instanceof Error ? reason.message : String(reason);
    if (!seen.has(message)) log(`unhandled rejection (the run goes on): ${message}`);
    seen.add(message);
  });
}
