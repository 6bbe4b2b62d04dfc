// Watch streams are newline-delimited JSON: split at the byte level, so that a multi-byte character straddling two
// chunks survives, with a bound on how long a line may grow.

/** One event line may not exceed this (kube-apiserver's own objects are at most ~3 MiB, plus Table rendering). */
export const maxEventBytes = 16 * 1024 * 1024;

/**
 * Splits a byte stream into newline-terminated lines, whatever the chunking. Pure apart from its buffer; `rest()`
 * is what is left without a newline.
 */
export function lineSplitter(limit = maxEventBytes) {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  return {
    push(chunk: Buffer): string[] {
      const lines: string[] = [];
      let start = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
        pending.push(chunk.subarray(start, nl));
        lines.push(Buffer.concat(pending).toString('utf8'));
        pending = [];
        pendingBytes = 0;
        start = nl + 1;
      }
      if (start < chunk.length) {
        pending.push(chunk.subarray(start));
        pendingBytes += chunk.length - start;
        if (pendingBytes > limit) throw new Error(`a watch event is larger than ${limit} bytes`);
      }
      return lines;
    },
    rest: () => Buffer.concat(pending).toString('utf8'),
  };
}
