/** How long the test process may live on after the teardown before what keeps it alive counts as a leak. */
const exitGraceMs = 30_000;

export default async function globalTeardown(): Promise<void> {
  await globalThis.ctpE2EStop?.();
  // Tests run in this process (--runInBand): anything they started and never stopped (an informer retrying against a
  // stopped cluster, a server, a child process) keeps it alive, and CI would wait for its time limit. Name what is
  // left and fail instead. The timer is unref'd: a clean run exits before it fires.
  setTimeout(() => {
    const left = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    console.error(
      `\nthe test process did not exit ${exitGraceMs / 1000} s after the run: something a test started was not ` +
        `stopped (active: ${left.join(', ') || 'none listed'}); run the suite with --detectOpenHandles to find it`,
    );
    process.exit(1);
  }, exitGraceMs).unref();
}
