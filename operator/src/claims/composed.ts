// Names of what Crossplane composes for a v2 namespaced XR of this cluster, as the app cluster sees them. Pure.
//
// Crossplane v2.3.4 names an unnamed composed resource `<prefix>-<5 random characters>` (generateName), the prefix
// being the XR's `crossplane.io/composite` label, which it sets to the XR's own name; compositions that name them
// derive the name from the XR's (the Crossplane docs' `<XR name>-connection-details`). The XR's name is its stored
// name (`orders-<16 hex>`), so in the app cluster that prefix is replaced by the XR's app name: `orders-x7k2p`,
// `orders-connection-details` — the name the same composition would give it with Crossplane in the app cluster.
//
// Per XR the mapping is injective (one prefix replaced by another) and maps back. Across the XRs of one app
// namespace it is injective for Crossplane's generated names (their suffix has no '-'); two suffixes with dashes can
// meet (XR `db` composing `…-connection-details` and XR `db-connection` composing `…-details`), exactly as their
// names would meet with Crossplane in the app cluster. Whose Secret it is then is decided by the delivery (the
// oldest XR keeps it), not by the name. Names are never trusted for ownership: only the composed resource's
// controller reference, the XR's uid, says whose it is.

/** Kubernetes object names (DNS subdomains) are at most this long. */
const maxName = 253;

export interface ComposingXR {
  /** The XR's name in the app cluster. */
  appName: string;
  /** Its name in the control plane (the prefix of what Crossplane composes for it). */
  storedName: string;
}

/**
 * The app-cluster name of a resource composed for `xr`; undefined when its name does not derive from the XR's stored
 * name (or would be too long), so it has no app name.
 */
export function appComposedName(xr: ComposingXR, composedName: string): string | undefined {
  const prefix = `${xr.storedName}-`;
  if (!composedName.startsWith(prefix) || composedName.length === prefix.length) return undefined;
  const name = `${xr.appName}${composedName.slice(xr.storedName.length)}`;
  return name.length <= maxName ? name : undefined;
}

/** The control-plane name of the resource composed for `xr` that the app cluster knows as `appName`. */
export function storedComposedName(xr: ComposingXR, appName: string): string | undefined {
  const prefix = `${xr.appName}-`;
  if (!appName.startsWith(prefix) || appName.length === prefix.length) return undefined;
  return `${xr.storedName}${appName.slice(xr.appName.length)}`;
}
