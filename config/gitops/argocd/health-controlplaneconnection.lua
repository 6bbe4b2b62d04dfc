-- Argo CD health check for connect.ctp.dev/ControlPlaneConnection.
--   Healthy      Ready=True for the current generation: the claim APIs are served, later sync waves can use them.
--   Degraded     Stalled=True: the operator cannot go on without a human (bad kubeconfig, no rights, a CA that
--                does not verify, an APIService owned by someone else). The message says what to fix.
--   Progressing  everything else: not reconciled yet, an older generation observed, retrying a transient error
--                (control plane unreachable, proxy not available yet), or being deleted.
local health = { status = "Progressing", message = "Waiting for the operator to reconcile the connection" }

local function condition(conditions, type)
  if conditions == nil then return nil end
  for _, c in ipairs(conditions) do
    if c.type == type then return c end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then return c.reason .. ": " .. c.message end
  return c.reason
end

local status = obj.status
local conditions = status ~= nil and status.conditions or nil
local ready = condition(conditions, "Ready")

if obj.metadata.deletionTimestamp ~= nil then
  health.message = "Being deleted"
  if ready ~= nil and ready.status ~= "True" then health.message = "Being deleted: " .. describe(ready) end
  return health
end
if status == nil then return health end

local generation = obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  health.message = "Waiting for the operator to observe generation " .. generation
  return health
end

local stalled = condition(conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  health.status = "Degraded"
  health.message = describe(stalled)
  return health
end

if ready == nil then return health end
if ready.status == "True" then
  health.status = "Healthy"
  health.message = ready.message
  return health
end
health.message = describe(ready)
return health
