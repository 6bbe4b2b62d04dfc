-- Argo CD health check for Crossplane claims served through ctp-connector (any claim kind: the conditions come
-- unchanged from the control plane, where Crossplane writes them).
--   Suspended    Synced=False with reason ReconcilePaused: paused on purpose (the crossplane.io/paused annotation).
--   Degraded     Synced=False otherwise: Crossplane cannot reconcile the claim (the message says why).
--   Healthy      Ready=True, observed for the current generation.
--   Progressing  no conditions yet, Ready not True, or conditions about an older generation.
local health = { status = "Progressing", message = "Waiting for the control plane to provision the claim" }
if obj.status == nil or obj.status.conditions == nil then return health end

local generation = obj.metadata.generation
local function current(c)
  return generation == nil or c.observedGeneration == nil or c.observedGeneration >= generation
end
local function describe(c)
  if c.message ~= nil and c.message ~= "" then return c.reason .. ": " .. c.message end
  return c.reason
end

for _, c in ipairs(obj.status.conditions) do
  if c.type == "Synced" and c.status == "False" and current(c) then
    health.status = "Degraded"
    if c.reason == "ReconcilePaused" then health.status = "Suspended" end
    health.message = describe(c)
    return health
  end
end

for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then
    if not current(c) then
      health.message = "Waiting for the control plane to observe generation " .. generation
    elseif c.status == "True" then
      health.status = "Healthy"
      health.message = "Available"
      if c.message ~= nil and c.message ~= "" then health.message = c.message end
    else
      health.message = describe(c)
    end
    return health
  end
end
return health
