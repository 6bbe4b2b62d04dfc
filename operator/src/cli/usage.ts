// The CLI's commands, their help texts, and the exit codes they share. Light: main.ts reads it before it loads any
// command's modules.
import { exitCodes } from './exit.ts';

export const cliCommands = ['connect', 'disconnect', 'status', 'import', 'gitops-secret'] as const;
export type CliCommandName = (typeof cliCommands)[number];

export const isCliCommand = (command: string | undefined): command is CliCommandName =>
  (cliCommands as readonly (string | undefined)[]).includes(command);

const appClusterFlags = `    --kubeconfig PATH       the app cluster (default: KUBECONFIG, ~/.kube/config, or in-cluster)
    --context NAME          a context of that kubeconfig (default: its current context)`;

export const commandUsage: Record<string, string> = {
  connect: `  connect <control-plane-kubeconfig> <targetNamespace>
      Connect this (the app) cluster to a control plane: stores the kubeconfig's current context as a Secret,
      creates a ControlPlaneConnection, waits until it is Ready and lists the claim APIs now available.
    --name NAME             the ControlPlaneConnection (default: targetNamespace)
    --namespace NS          the operator's namespace, where the Secret goes (default: ctp-system)
    --cluster-id ID         this cluster's identity in the control plane (default: the kube-system namespace UID)
    --credentials-mode M    Scoped (default) or Passthrough
    --deletion-policy P     Migrate (default), Detach or Delete: what disconnecting does with the claims
    --timeout DURATION      how long to wait for Ready (default 5m)
    -o, --output FORMAT     text (default) or json
${appClusterFlags}`,
  disconnect: `  disconnect [name]
      Delete a ControlPlaneConnection (the only one when no name is given), wait until the operator has applied
      its deletion policy, and report what happened to the claims.
    --policy P              set the deletion policy first: Migrate (hand the claims over to the control plane),
                            Detach (leave them for a later connection with the same cluster ID), Delete (delete them)
    --timeout DURATION      how long to wait for the cleanup (default 5m)
    -o, --output FORMAT     text (default) or json
${appClusterFlags}`,
  status: `  status [name]
      Connections, the claim APIs they serve, credential expiry and proxy health (APIServices, replicas).
    -o, --output FORMAT     text (default) or json
${appClusterFlags}`,
  import: `  import [connection]
      Move the claims and namespaced XRs of a local Crossplane in this cluster into the control plane through the
      connection, keeping everything they composed: each is paused, copied with its connection Secret under the
      connector's name, and deleted here once its copy is Ready (orphaning what it composed); then the local XRDs
      of a group are removed so that the connection serves it. Prints what it would do unless --apply. Refuses,
      with the reason, what it cannot move safely. Run it again to finish an interrupted import.
    --apply                 do it (default: dry run, nothing is changed)
    --timeout DURATION      how long to wait for each object and group (default 5m)
    -o, --output FORMAT     text (default) or json
${appClusterFlags}`,
  'gitops-secret': `  gitops-secret --for argocd|flux <control-plane-kubeconfig>
      Print the Secret through which Argo CD (a cluster Secret) or Flux (a kubeConfig.secretRef Secret) reaches the
      control plane directly, from the kubeconfig's current context.
    --name NAME             Secret name, and the cluster's name in Argo CD (default: control-plane)
    --namespace NS          default: argocd, or flux-system
    -o, --output FORMAT     yaml (default) or json`,
};

export const exitCodesUsage = `exit codes:
  ${exitCodes.ok}  done
  ${exitCodes.failure}  failed: the cluster refused, the connection is stalled, or cleanup is blocked
  ${exitCodes.usage}  invalid arguments, flags or input files (nothing was changed)
  ${exitCodes.timeout}  timed out waiting (what was created stays and keeps converging)
Progress goes to stderr, results to stdout.
`;

export const cliUsage = Object.values(commandUsage).join('\n');
