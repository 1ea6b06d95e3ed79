-- GET /api/v1/health: the gateway's view of every backend, from Envoy's own active
-- gRPC health checks (admin /clusters), so it costs the backends nothing.
-- The renderer prepends `local BACKENDS = {...}` (the routed clusters) and
-- `local ADMIN_CLUSTER = "..."`.
--
-- 200 {"status":"SERVING","backends":{"ledger":"SERVING",...}} when every backend has a
-- healthy host, 503 with status NOT_SERVING otherwise.

local function parse(body)
  local healthy = {}
  for _, name in ipairs(BACKENDS) do
    healthy[name] = false
  end
  for line in string.gmatch(body or "", "[^\n]+") do
    local cluster, flags = string.match(line, "^([%w_%-]+)::.-::health_flags::(.+)$")
    if cluster ~= nil and healthy[cluster] ~= nil and flags == "healthy" then
      healthy[cluster] = true
    end
  end
  return healthy
end

function envoy_on_request(handle)
  local _, body = handle:httpCall(ADMIN_CLUSTER, {
    [":method"] = "GET",
    [":path"] = "/clusters",
    [":authority"] = "envoy-admin",
  }, "", 1000)
  local healthy = parse(body)
  local all = true
  local parts = {}
  for _, name in ipairs(BACKENDS) do
    local state = "SERVING"
    if not healthy[name] then
      state = "NOT_SERVING"
      all = false
    end
    parts[#parts + 1] = string.format("%q:%q", name, state)
  end
  local status = "SERVING"
  local code = "200"
  if not all then
    status = "NOT_SERVING"
    code = "503"
  end
  -- Marks the reply so local_reply_config passes this JSON through unchanged.
  handle:headers():replace("x-nexafi-local-json", "1")
  handle:respond({
    [":status"] = code,
    ["content-type"] = "application/json",
    ["cache-control"] = "no-store",
  }, string.format('{"status":"%s","backends":{%s}}', status, table.concat(parts, ",")))
end
