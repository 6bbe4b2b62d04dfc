// A flame summary of a V8 CPU profile (`node --cpu-prof`): where the sampled time went, by function (self and
// inclusive time) and by module, restricted to a time window so start-up does not blur the request path. Pure.

export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
    children?: number[];
  }[];
  /** Microseconds on the monotonic clock that process.hrtime() reads too. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface TimeShare {
  name: string;
  ms: number;
  /** Share of the busy (not idle) time in the window, in percent. */
  percent: number;
}

export interface ProfileSummary {
  windowMs: number;
  /** Sampled time that was not idle. */
  busyMs: number;
  /** Functions by time spent in their own code. */
  self: TimeShare[];
  /** Functions by time spent in them and everything they called (the project's own code only). */
  inclusive: TimeShare[];
  /** Self time by module: a package, a Node.js built-in, a project file, or V8 (GC, compiling). */
  modules: TimeShare[];
}

const special = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** A short location: repository-relative for the project, the package for dependencies. Pure. */
export function moduleOf(url: string, functionName: string, repoRoot: string): string {
  if (!url) return special.has(functionName) ? functionName : '(native)';
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith('node:')) return path;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1]!;
  return path.startsWith(`${repoRoot}/`) ? path.slice(repoRoot.length + 1) : path;
}

export function summarizeProfile(
  profile: CpuProfile,
  options: { repoRoot: string; fromUs?: number; toUs?: number; top?: number },
): ProfileSummary {
  const top = options.top ?? 15;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const label = (id: number) => {
    const frame = byId.get(id)!.callFrame;
    const name = frame.functionName || '(anonymous)';
    const module = moduleOf(frame.url, frame.functionName, options.repoRoot);
    return { name: special.has(name) ? name : `${name} (${module}:${frame.lineNumber + 1})`, module };
  };
  const isProject = (module: string) =>
    module.startsWith('operator/') || module.startsWith('bench/') || module.startsWith('e2e/');

  const from = options.fromUs ?? profile.startTime;
  const to = options.toUs ?? profile.endTime;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const modules = new Map<string, number>();
  let busy = 0;
  let t = profile.startTime;
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const next = i + 1 < profile.samples.length ? t + (profile.timeDeltas[i + 1] ?? 0) : profile.endTime;
    // The part of this sample's interval inside the window.
    const us = Math.max(0, Math.min(next, to) - Math.max(t, from));
    if (us === 0) continue;
    const id = profile.samples[i]!;
    const own = label(id);
    if (own.name === '(idle)') continue;
    busy += us;
    add(self, own.name, us);
    add(modules, own.module, us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = label(at);
      if (!isProject(frame.module) || seen.has(frame.name)) continue;
      seen.add(frame.name);
      add(inclusive, frame.name, us);
    }
  }
  const shares = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 100) / 10,
        percent: busy > 0 ? Math.round((us / busy) * 1000) / 10 : 0,
      }));
  return {
    windowMs: Math.round((to - from) / 1000),
    busyMs: Math.round(busy / 1000),
    self: shares(self),
    inclusive: shares(inclusive),
    modules: shares(modules),
  };
}
