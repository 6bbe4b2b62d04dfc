export default async function globalTeardown(): Promise<void> {
  await globalThis.ctpE2EStop?.();
}
