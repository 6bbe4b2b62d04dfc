// The proxy's request path, in order — the one place to read which guarantee holds before which, modelled on
// k8s.io/apiserver's DefaultBuildHandlerChain. Each stage is its own module; a stage either answers (or throws a
// StatusError, which recovery answers) or hands the request to the next one.
//
//   recovery        no input ends the process or hangs its socket; every failure is a metav1.Status
//   request info    one parser of path and query (kube-apiserver's RequestInfo); malformed URLs are 400
//   probes          /healthz, /readyz, /livez (kubelet probes carry no certificate)
//   audit           one log line and metric sample per request, with the Audit-ID (refusals included)
//   authentication  the aggregator's client certificate, then its X-Remote-* headers; anything else is 401
//   draining        while shutting down, answers close their connections
//   API documents   discovery and OpenAPI, served from the catalog, never from the control plane
//   authorization   the app cluster's RBAC for the user (SubjectAccessReview) with kube-apiserver's attributes
//   admission       served resource, media types, body limits and decoding, object rules, namespace lifecycle
//   storage         the control plane or the claim cache, by one rule; answers translated into the app's view
import type { Catalog } from '../catalog/catalog.ts';
import { admission, type AdmissionDeps } from './admission.ts';
import { apiDocuments } from './apidocs.ts';
import { audit } from './audit.ts';
import { authentication, type RequestHeaderConfig } from './authentication.ts';
import { authorization, type Authorizer } from './authorization.ts';
import type { RequestContext } from './context.ts';
import type { ProxyMetrics } from './metrics.ts';
import { probes } from './probes.ts';
import { recovery } from './recovery.ts';
import { requestInfo } from './requestinfo.ts';
import { draining, type ShutdownState } from './shutdown.ts';
import { storage, type StorageDeps } from './storage.ts';

export type Stage = (ctx: RequestContext, next: () => Promise<void>) => Promise<void>;

export interface ChainDeps {
  catalog: () => Catalog | undefined;
  requestHeader: () => RequestHeaderConfig | undefined;
  ready: () => boolean;
  metrics: ProxyMetrics;
  authorize: Authorizer;
  shutdown: ShutdownState;
  admission: Omit<AdmissionDeps, 'catalog' | 'authorize'>;
  storage: StorageDeps;
}

/** The proxy's chain, outermost first. */
export function proxyChain(deps: ChainDeps): (ctx: RequestContext) => Promise<void> {
  return compose([
    recovery(),
    requestInfo(),
    probes(deps.ready),
    audit(deps.metrics),
    authentication(deps.requestHeader),
    draining(deps.shutdown),
    apiDocuments(deps.catalog),
    authorization(deps.authorize),
    admission({ ...deps.admission, catalog: deps.catalog, authorize: deps.authorize }),
    storage(deps.storage),
  ]);
}

/** Runs the stages in order; the last one's `next` does nothing. */
export function compose(stages: readonly Stage[]): (ctx: RequestContext) => Promise<void> {
  const run = (ctx: RequestContext, i: number): Promise<void> =>
    i < stages.length ? stages[i]!(ctx, () => run(ctx, i + 1)) : Promise.resolve();
  return (ctx) => run(ctx, 0);
}
