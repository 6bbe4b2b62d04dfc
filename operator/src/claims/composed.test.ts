import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { appComposedName, storedComposedName } from './composed.ts';
import { controlPlaneName } from './identity.ts';

// App names as the proxy admits them (DNS subdomains), with dashes and dots where collisions would hide.
const appName = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,60}[a-z0-9])?$/),
  fc.constantFrom('db', 'db-connection', 'orders', 'a', 'a-b', 'a.b', 'x-7k2p'),
);
const namespace = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const clusterID = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/);
/** What Crossplane's generateName appends (utilrand's alphabet): never a '-'. */
const generatedSuffix = fc.stringMatching(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
/** What a composition may append to the XR's name: anything a name may continue with. */
const anySuffix = fc.oneof(
  generatedSuffix,
  fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,30}[a-z0-9])?$/),
  fc.constantFrom('connection-details', 'conn', 'details', 'connection'),
);

const xr = (name: string, ns: string, cluster: string) => ({
  appName: name,
  storedName: controlPlaneName(name, ns, cluster),
});

describe('names of the Secrets composed for an XR', () => {
  it("replaces the XR's stored name by its app name, as Crossplane in the app cluster would name them", () => {
    const orders = xr('orders', 'shop', 'c1');
    expect(appComposedName(orders, `${orders.storedName}-x7k2p`)).toBe('orders-x7k2p');
    expect(appComposedName(orders, `${orders.storedName}-connection-details`)).toBe(
      'orders-connection-details',
    );
  });

  it("gives no name to what does not derive from the XR's stored name, or would be too long", () => {
    const orders = xr('orders', 'shop', 'c1');
    expect(appComposedName(orders, 'db-credentials')).toBeUndefined();
    expect(appComposedName(orders, orders.storedName)).toBeUndefined();
    expect(appComposedName(orders, `${orders.storedName}-`)).toBeUndefined();
    expect(appComposedName(orders, `${orders.storedName}x-abcde`)).toBeUndefined();
    // The app name of the XR itself is no prefix of what is stored: it maps nothing.
    expect(appComposedName(orders, 'orders-x7k2p')).toBeUndefined();
    const long = xr('a'.repeat(250), 'shop', 'c1');
    expect(appComposedName(long, `${long.storedName}-x7k2p`)).toBeUndefined();
  });

  it('maps back: the stored name of the app name is the composed name', () => {
    fc.assert(
      fc.property(appName, namespace, clusterID, anySuffix, (name, ns, cluster, suffix) => {
        const owner = xr(name, ns, cluster);
        const composed = `${owner.storedName}-${suffix}`;
        const mapped = appComposedName(owner, composed);
        expect(mapped).toBe(`${name}-${suffix}`);
        expect(storedComposedName(owner, mapped!)).toBe(composed);
      }),
      { numRuns: 2_000 },
    );
  });

  it("is injective per XR, and across one namespace's XRs for Crossplane's generated names", () => {
    fc.assert(
      fc.property(
        namespace,
        clusterID,
        fc.tuple(appName, anySuffix),
        fc.tuple(appName, anySuffix),
        (ns, cluster, [name1, suffix1], [name2, suffix2]) => {
          fc.pre(name1 !== name2 || suffix1 !== suffix2);
          const first = xr(name1, ns, cluster);
          const second = xr(name2, ns, cluster);
          const mapped1 = appComposedName(first, `${first.storedName}-${suffix1}`);
          const mapped2 = appComposedName(second, `${second.storedName}-${suffix2}`);
          if (name1 === name2 || (!suffix1.includes('-') && !suffix2.includes('-')))
            expect(mapped1).not.toBe(mapped2);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('meets across XRs only where Crossplane in the app cluster would give both one name', () => {
    // Both compositions name their Secret after the XR; in the app cluster their names would be the same too.
    const db = xr('db', 'shop', 'c1');
    const dbConnection = xr('db-connection', 'shop', 'c1');
    expect(appComposedName(db, `${db.storedName}-connection-details`)).toBe('db-connection-details');
    expect(appComposedName(dbConnection, `${dbConnection.storedName}-details`)).toBe('db-connection-details');
  });

  it("never names what was composed for another cluster's XR", () => {
    fc.assert(
      fc.property(
        fc.tuple(appName, namespace),
        fc.tuple(appName, namespace),
        fc.tuple(clusterID, clusterID),
        anySuffix,
        ([name, ns], [otherName, otherNs], [cluster, otherCluster], suffix) => {
          fc.pre(cluster !== otherCluster);
          const ours = xr(name, ns, cluster);
          // The one exception, below: their XR's app name begins with our XR's stored name.
          fc.pre(!otherName.startsWith(`${ours.storedName}-`));
          const theirs = xr(otherName, otherNs, otherCluster);
          expect(appComposedName(ours, `${theirs.storedName}-${suffix}`)).toBeUndefined();
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it("names another cluster's Secret only when that cluster named its XR after ours: ownership is not by name", () => {
    // A hostile cluster sharing the namespace names its XR "<our stored name>-x": what Crossplane composes for it
    // starts with our XR's stored name. The delivery refuses it by its controller reference (connectionsecrets.ts).
    const ours = xr('orders', 'shop', 'c1');
    const theirs = xr(`${ours.storedName}-x`, 'shop', 'c2');
    expect(appComposedName(ours, `${theirs.storedName}-abcde`)).toMatch(/^orders-x-/);
  });
});
