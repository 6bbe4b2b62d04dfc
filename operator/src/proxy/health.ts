// Whether the control plane answers, as the proxy has last seen it. It must never latch: any answer at all — an HTTP
// response of any code, a watch event, a bookmark, a list — means it is there, and while the proxy believes it is
// not, it probes the control plane itself, so the state ends as soon as the control plane is back rather than at
// the next relist. Only a failure to get an answer (refused, reset, timed out) makes it unavailable.
import type { Logger } from 'pino';
import { KubeApiError } from '../kube/client.ts';

/** An error that carries an HTTP answer (ours, or client-node's watch errors with a statusCode). */
export function isHTTPAnswer(err: unknown): boolean {
  return (
    err instanceof KubeApiError || typeof (err as { statusCode?: unknown } | null)?.statusCode === 'number'
  );
}

export interface UpstreamHealth {
  available(): boolean;
  /** The control plane answered something. */
  answered(): void;
  /** A request got no answer: reads come from the cache and writes are refused until the next answer. */
  failed(reason: string): void;
  /**
   * A request has waited long for its answer. Its own deadline may never come (its client gives up first, and a
   * cancelled request is no evidence), so the control plane is asked at once whether it answers at all: a frozen
   * one is noticed within the probe's timeout, not at the end of every hung request.
   */
  suspect(): void;
  stop(): void;
}

export interface HealthOptions {
  /** One request to the control plane; resolving or failing with an HTTP answer both mean it answers. */
  probe(): Promise<'answered' | 'failed'>;
  intervalMs?: number;
  log: Logger;
  onChange?(available: boolean): void;
}

export function upstreamHealth(options: HealthOptions): UpstreamHealth {
  const interval = options.intervalMs ?? 1_000;
  let available = true;
  let probing: NodeJS.Timeout | undefined;
  let stopped = false;
  const set = (value: boolean, reason?: string) => {
    if (value === available) return;
    available = value;
    if (value) options.log.info('control plane reachable again: forwarding every request');
    else options.log.warn({ reason }, 'control plane unreachable: reads from the cache, writes refused');
    options.onChange?.(value);
  };
  let checking = false;
  const probeSoon = () => {
    if (probing || stopped) return;
    probing = setTimeout(() => {
      void options
        .probe()
        .catch(() => 'failed' as const)
        .then((result) => {
          probing = undefined;
          if (result === 'answered') set(true);
          else if (!available) probeSoon();
        });
    }, interval);
    probing.unref();
  };
  return {
    available: () => available,
    answered: () => set(true),
    failed(reason) {
      set(false, reason);
      probeSoon();
    },
    suspect() {
      if (!available || checking || stopped) return;
      checking = true;
      void options
        .probe()
        .catch(() => 'failed' as const)
        .then((result) => {
          checking = false;
          if (result === 'failed') {
            set(false, 'a request waited for its answer and the control plane did not answer a probe');
            probeSoon();
          }
        });
    },
    stop() {
      stopped = true;
      clearTimeout(probing);
    },
  };
}
