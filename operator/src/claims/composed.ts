// Names of what Crossplane composes for a v2 namespaced XR of this cluster, as the app cluster sees them. Pure.
//
// Crossplane v2.3.4 names what a composition leaves unnamed after the XR (internal/names): `<prefix>-<12 hex>`
// (ChildName: a hash of the XR's uid and the composition's resource name), the prefix being the XR's
// `crossplane.io/composite` label, which it sets to the XR's own name, cut so that the whole fits 63 characters;
// `<prefix>-<5 random>` where it cannot. Compositions that name them derive the name from the XR's (the Crossplane
// docs' `<XR name>-connection-details`). The XR's name is its stored name (`orders-<16 hex>`), so in the app cluster
// that prefix, whole or as Crossplane cut it, is replaced by the XR's app name: `orders-<12 hex>`,
// `orders-connection-details`, as the same composition names it with Crossplane in the app cluster (there the hash is
// of another uid; and the app name is not cut to 63 characters: Secret names may have 253).
//
// Per XR the mapping is injective and maps back. Across the XRs of one app namespace it is injective where the
// suffix after the XR's name has no '-' (Crossplane's own names); two suffixes with dashes can meet (XR `db`
// composing `…-connection-details` and XR `db-connection` composing `…-details`), exactly as their names would meet
// with Crossplane in the app cluster. Whose Secret it is then is decided by the delivery (the oldest XR keeps it),
// not by the name. Names are never trusted for ownership: only the composed resource's controller reference, the
// XR's uid, says whose it is (what Crossplane keeps of a long stored name has as few as 3 of its 16 hex digits).

/** Kubernetes object names (DNS subdomains) are at most this long. */
const maxName = 253;
/** Crossplane's ChildName: at most 63 characters, ending in 12 hex digits. */
const maxChildName = 63;
const childHashLength = 12;
const childHash = /^[0-9a-f]{12}$/;

export interface ComposingXR {
  /** The XR's name in the app cluster. */
  appName: string;
  /** Its name in the control plane (the prefix of what Crossplane composes for it). */
  storedName: string;
}

/**
 * The prefix Crossplane's ChildName (v2.3.4 internal/names) gives what it names for an XR: the XR's name and '-',
 * cut (to 51 characters ending in '-', else 50 and a '-') when 12 hex digits would not fit in 63.
 */
export function childPrefix(storedName: string): string {
  const parent = `${storedName}-`;
  const room = maxChildName - childHashLength;
  if (parent.length <= room) return parent;
  const cut = parent.slice(0, room);
  return cut.endsWith('-') ? cut : `${parent.slice(0, room - 1)}-`;
}

/** What follows the XR's name (whole or as Crossplane cut it) in a name composed for it; undefined if it does not. */
function suffixOf(xr: ComposingXR, composedName: string): string | undefined {
  const whole = `${xr.storedName}-`;
  const cut = childPrefix(xr.storedName);
  const after = (prefix: string) =>
    composedName.startsWith(prefix) && composedName.length > prefix.length
      ? composedName.slice(prefix.length)
      : undefined;
  if (cut === whole) return after(whole);
  // A long stored name: Crossplane's own names are "<cut>-<12 hex>"; any other suffix follows the whole name.
  const own = after(cut);
  if (own !== undefined && childHash.test(own)) return own;
  const derived = after(whole);
  return derived !== undefined && !childHash.test(derived) ? derived : undefined;
}

/**
 * The app-cluster name of a resource composed for `xr`; undefined when its name does not derive from the XR's stored
 * name (or would be too long), so it has no app name.
 */
export function appComposedName(xr: ComposingXR, composedName: string): string | undefined {
  const suffix = suffixOf(xr, composedName);
  if (suffix === undefined) return undefined;
  const name = `${xr.appName}-${suffix}`;
  return name.length <= maxName ? name : undefined;
}

/** The control-plane name of the resource composed for `xr` that the app cluster knows as `appName`. */
export function storedComposedName(xr: ComposingXR, appName: string): string | undefined {
  const prefix = `${xr.appName}-`;
  if (!appName.startsWith(prefix) || appName.length === prefix.length) return undefined;
  const suffix = appName.slice(prefix.length);
  const cut = childPrefix(xr.storedName);
  return cut !== `${xr.storedName}-` && childHash.test(suffix)
    ? `${cut}${suffix}`
    : `${xr.storedName}-${suffix}`;
}
