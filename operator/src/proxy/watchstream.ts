// A watch from the control plane relayed to the client event by event: split into lines at the byte level (a
// multi-byte character may straddle two chunks), each event translated, and written with back-pressure — while the
// client does not read, the proxy stops reading from the control plane, so a slow client costs one socket buffer,
// not memory without bound.
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { lineSplitter } from '../kube/lines.ts';
import { statusBody } from './respond.ts';
import type { WatchEvent } from './translate.ts';

export interface RelayOptions {
  res: ServerResponse;
  body: AsyncIterable<Buffer> | Iterable<Buffer>;
  contentType: string;
  translate(event: WatchEvent): WatchEvent | undefined;
  /** Every event or bookmark from the control plane: it answers. */
  onEvent(): void;
  signal: AbortSignal;
}

/** Relays until either side ends. An upstream failure ends the stream with an ERROR event, as kube-apiserver does. */
export async function relayWatch(options: RelayOptions): Promise<void> {
  const { res } = options;
  res.writeHead(200, { 'content-type': options.contentType });
  res.flushHeaders();
  const lines = lineSplitter();
  try {
    for await (const chunk of options.body) {
      for (const line of lines.push(chunk)) {
        if (line.trim() === '') continue;
        const event = JSON.parse(line) as WatchEvent;
        options.onEvent();
        const translated = options.translate(event);
        if (translated && !res.write(`${JSON.stringify(translated)}\n`)) await drained(res, options.signal);
        if (options.signal.aborted) break;
      }
      if (options.signal.aborted) break;
    }
  } catch (err) {
    if (res.destroyed) return;
    if (options.signal.aborted) {
      // Ended by the proxy (shutdown): a clean end, and the client watches again from its last resourceVersion.
      res.end();
      return;
    }
    const status = statusBody(
      500,
      'InternalError',
      `watch from the control plane ended: ${(err as Error).message}`,
    );
    res.write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
  }
  res.end();
}

/** Resolves once the client has read what is buffered (or went away). */
export async function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  if (signal.aborted || res.destroyed) return;
  try {
    await once(res, 'drain', { signal });
  } catch {
    // aborted: the client went away
  }
}
