// The local clusters run no scheduler and no kubelet, so a Deployment never becomes Available there. Where a test
// needs one to (a GitOps tool's health check of the workload it installed), this stands in for both, for the pods
// of one label selector: it binds each pending pod to a Node object, as the scheduler would, and reports it Running
// and Ready, as the kubelet would, once `container()` — whatever plays the pod's container, started here in its
// stead — has resolved. The Deployment and ReplicaSet controllers of kube-controller-manager do the rest.
import { kubectl, kubectlOk, type KubectlTarget } from './kubectl.ts';

export interface KubeletStandIn {
  /** Pods reported Ready so far. */
  readyPods(): string[];
  /** The last error of a round (retried on the next), for a test's failure message. */
  lastError(): unknown;
  stop(): Promise<void>;
}

export interface KubeletOptions {
  namespace: string;
  /** Label selector of the pods to run. */
  selector: string;
  /** Started once, when the first pod is bound; its pods are reported Ready after it resolved. */
  container: () => Promise<void>;
  node?: string;
  intervalMs?: number;
}

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

export async function standInKubelet(
  target: KubectlTarget,
  options: KubeletOptions,
): Promise<KubeletStandIn> {
  const node = options.node ?? 'e2e-node';
  if ((await kubectl(target, ['get', 'node', node])).code !== 0) {
    await kubectlOk(
      target,
      ['create', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: node } }),
    );
    await patchStatus(target, ['node', node], {
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'e2e stand-in', ...stamps() },
      ],
    });
  }
  let container: Promise<void> | undefined;
  const ready = new Set<string>();
  let stopped = false;
  let lastError: unknown;

  const tick = async () => {
    const pods = JSON.parse(
      await kubectlOk(target, ['-n', options.namespace, 'get', 'pods', '-l', options.selector, '-o', 'json']),
    ) as { items: Pod[] };
    for (const pod of pods.items) {
      const name = pod.metadata.name;
      if (pod.metadata.deletionTimestamp || ready.has(name)) continue;
      if (!pod.spec.nodeName)
        await kubectlOk(
          target,
          ['create', '-f', '-'],
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name, namespace: options.namespace },
            target: { apiVersion: 'v1', kind: 'Node', name: node },
          }),
        );
      await (container ??= options.container());
      const { lastTransitionTime } = stamps();
      await patchStatus(target, ['-n', options.namespace, 'pod', name], {
        phase: 'Running',
        hostIP: '127.0.0.1',
        podIP: '127.0.0.1',
        startTime: lastTransitionTime,
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
          type,
          status: 'True',
          lastTransitionTime,
        })),
        containerStatuses: pod.spec.containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: lastTransitionTime } },
        })),
      });
      ready.add(name);
    }
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await tick();
      } catch (err) {
        lastError = err; // retried on the next tick; the test's own wait reports what stays missing
      }
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
    }
  })();

  return {
    readyPods: () => [...ready],
    lastError: () => lastError,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

function stamps() {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return { lastTransitionTime: now, lastHeartbeatTime: now };
}

function patchStatus(
  target: KubectlTarget,
  object: string[],
  status: Record<string, unknown>,
): Promise<string> {
  return kubectlOk(target, [
    'patch',
    ...object,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}
