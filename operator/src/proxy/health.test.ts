import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../log.ts';
import { upstreamHealth } from './health.ts';

const log = createLogger({ level: 'silent' });
const until = async (check: () => boolean, ms = 2_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('upstream health', () => {
  it('never latches: any answer ends an outage', () => {
    const changes: boolean[] = [];
    const health = upstreamHealth({
      probe: () => Promise.resolve('failed'),
      intervalMs: 60_000,
      log,
      onChange: (a) => changes.push(a),
    });
    expect(health.available()).toBe(true);
    health.failed('ECONNREFUSED');
    health.failed('ECONNREFUSED');
    expect(health.available()).toBe(false);
    health.answered();
    expect(health.available()).toBe(true);
    expect(changes).toEqual([false, true]);
    health.stop();
  });

  it('probes the control plane while it does not answer, until it does', async () => {
    let probes = 0;
    let up = false;
    const health = upstreamHealth({
      probe: () => {
        probes++;
        return Promise.resolve(up ? 'answered' : 'failed');
      },
      intervalMs: 10,
      log,
    });
    health.failed('timed out');
    await until(() => probes >= 3);
    expect(health.available()).toBe(false);
    up = true;
    await until(() => health.available());
    const after = probes;
    await new Promise((r) => setTimeout(r, 50));
    expect(probes).toBe(after); // no probing while it answers
    health.stop();
  });

  it('keeps probing when a probe throws', async () => {
    let probes = 0;
    const health = upstreamHealth({
      probe: () => {
        probes++;
        return probes < 3 ? Promise.reject(new Error('boom')) : Promise.resolve('answered');
      },
      intervalMs: 5,
      log,
    });
    health.failed('reset');
    await until(() => health.available());
    expect(probes).toBe(3);
    health.stop();
  });

  it('a suspicion asks at once: a control plane that does not answer the probe is unavailable', async () => {
    let up = false;
    let probes = 0;
    const health = upstreamHealth({
      probe: () => {
        probes++;
        return Promise.resolve(up ? 'answered' : 'failed');
      },
      intervalMs: 5,
      log,
    });
    health.suspect();
    health.suspect(); // one probe at a time
    await until(() => !health.available());
    expect(probes).toBeGreaterThanOrEqual(1);
    up = true;
    await until(() => health.available()); // and the probing that follows ends it
    health.stop();
  });

  it('a suspicion the control plane answers changes nothing', async () => {
    let probes = 0;
    const changes: boolean[] = [];
    const health = upstreamHealth({
      probe: () => {
        probes++;
        return Promise.resolve('answered');
      },
      intervalMs: 5,
      log,
      onChange: (a) => changes.push(a),
    });
    health.suspect();
    await until(() => probes === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(health.available()).toBe(true);
    expect(changes).toEqual([]);
    expect(probes).toBe(1);
    health.stop();
  });
});
