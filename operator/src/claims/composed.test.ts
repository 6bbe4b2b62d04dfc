import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { appComposedName, childPrefix, storedComposedName } from './composed.ts';
import { controlPlaneName } from './identity.ts';

// App names as the proxy admits them (DNS subdomains), with dashes and dots where collisions would hide.
const appName = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,60}[a-z0-9])?$/),
  // Long enough that Crossplane cuts the stored name in what it names.
  fc.stringMatching(/^[a-z0-9]([-a-z0-9]{32,60}[a-z0-9])$/),
  fc.constantFrom('db', 'db-connection', 'orders', 'a', 'a-b', 'a.b', 'x-7k2p'),
);
const namespace = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const clusterID = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/);
/** What Crossplane appends: ChildName's 12 hex digits, or generateName's 5 of utilrand's alphabet; never a '-'. */
const generatedSuffix = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{12}$/),
  fc.stringMatching(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/),
);
/** What a composition may append to the XR's name: anything a name may continue with. */
const anySuffix = fc.oneof(
  generatedSuffix,
  fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,30}[a-z0-9])?$/),
  fc.constantFrom('connection-details', 'conn', 'details', 'connection'),
);

/**
 * The name Crossplane v2.3.4 gives what a composition left unnamed (ChildName: "<prefix>-<12 hex>", the prefix
 * cut to fit 63 characters), or a name the composition derived from the XR's: "<stored name>-<suffix>".
 */
const composedName = (storedName: string, suffix: string) =>
  /^[0-9a-f]{12}$/.test(suffix) ? `${childPrefix(storedName)}${suffix}` : `${storedName}-${suffix}`;

const xr = (name: string, ns: string, cluster: string) => ({
  appName: name,
  storedName: controlPlaneName(name, ns, cluster),
});

describe('names of the Secrets composed for an XR', () => {
  it("replaces the XR's stored name by its app name, as Crossplane in the app cluster would name them", () => {
    const orders = xr('orders', 'shop', 'c1');
    expect(appComposedName(orders, `${orders.storedName}-48e559ed279b`)).toBe('orders-48e559ed279b');
    expect(appComposedName(orders, `${orders.storedName}-x7k2p`)).toBe('orders-x7k2p');
    expect(appComposedName(orders, `${orders.storedName}-connection-details`)).toBe(
      'orders-connection-details',
    );
  });

  it('follows Crossplane where it cuts a long stored name to fit its 12 hex digits in 63 characters', () => {
    // ChildName("<parent>-", uid, name): "<parent>-<12 hex>" if that fits 63 characters, else the parent cut to 50
    // characters and a '-' (51 if its 51st already is a '-').
    const fits = 'a'.repeat(50);
    expect(childPrefix(fits)).toBe(`${fits}-`);
    expect(childPrefix(`${fits}b`)).toBe(`${fits}-`);
    expect(childPrefix(`${fits}-b`)).toBe(`${fits}-`);
    expect(childPrefix(`${'a'.repeat(49)}-bcd`)).toBe(`${'a'.repeat(49)}--`);

    const long = xr('reporting-warehouse-analytics-eu-west-1', 'shop', 'c1');
    expect(long.storedName).toHaveLength(56);
    const cut = `${long.storedName.slice(0, 50)}-`;
    expect(childPrefix(long.storedName)).toBe(cut);
    expect(appComposedName(long, `${cut}48e559ed279b`)).toBe(
      'reporting-warehouse-analytics-eu-west-1-48e559ed279b',
    );
    expect(storedComposedName(long, 'reporting-warehouse-analytics-eu-west-1-48e559ed279b')).toBe(
      `${cut}48e559ed279b`,
    );
    // Names the composition derived from the whole name keep following it; a cut one only with Crossplane's hash.
    expect(appComposedName(long, `${long.storedName}-connection-details`)).toBe(
      'reporting-warehouse-analytics-eu-west-1-connection-details',
    );
    expect(appComposedName(long, `${cut}connection-details`)).toBeUndefined();
    // "<whole name>-<12 hex>" is longer than 63 characters: Crossplane never names it so, and it maps no name.
    expect(appComposedName(long, `${long.storedName}-48e559ed279b`)).toBeUndefined();
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
        const composed = composedName(owner.storedName, suffix);
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
          const mapped1 = appComposedName(first, composedName(first.storedName, suffix1));
          const mapped2 = appComposedName(second, composedName(second.storedName, suffix2));
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
          const theirs = xr(otherName, otherNs, otherCluster);
          // The exceptions, below: their stored name begins with ours, or with what Crossplane keeps of it.
          fc.pre(!theirs.storedName.startsWith(childPrefix(ours.storedName).slice(0, -1)));
          expect(appComposedName(ours, composedName(theirs.storedName, suffix))).toBeUndefined();
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
    // Of a long stored name Crossplane keeps 50 characters: here 3 of its 16 hex digits, which 1 in 4096 XRs of
    // another cluster with the same first 46 characters share.
    const long = xr('a'.repeat(60), 'shop', 'c1');
    const cut = childPrefix(long.storedName);
    expect(cut).toHaveLength(51);
    expect(appComposedName(long, `${cut}48e559ed279b`)).toBe(`${'a'.repeat(60)}-48e559ed279b`);
  });
});
