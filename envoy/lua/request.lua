-- Runs on every proxied request, before jwt_authn and the gRPC-JSON transcoder.
--
-- 1. Strips client-sent x-nexafi-* headers: the gateway alone sets them (jwt_authn
--    copies the verified `sub` claim into x-nexafi-subject, which the rate limiter
--    keys on). jwt_authn only strips the header it sets itself, so a look-alike such
--    as x-nexafi-roles would otherwise reach the services.
-- 2. Keeps both documented ledger routes reachable. services.md documents
--    GET /api/v1/ledger/transactions/{user_id} AND /api/v1/ledger/transactions/{transaction_id};
--    the proto binds the first to ListUserTransactions and GetTransaction to
--    /api/v1/ledger/entries/{transaction_id}. Transaction ids are prefixed `txn_`, user ids
--    `usr_`, so a `txn_` id is rewritten to the GetTransaction binding here, before the
--    transcoder reads :path. Both paths go to the same cluster and route, so the cached
--    route stays right whether or not Envoy recomputes it.

local TXN_PATH = "^/api/v1/ledger/transactions/(txn_[^/?]+)$"
local TXN_PATH_QUERY = "^/api/v1/ledger/transactions/(txn_[^/?]+)(%?.*)$"

function envoy_on_request(handle)
  local headers = handle:headers()

  local forged = {}
  for key, _ in pairs(headers) do
    if string.sub(key, 1, 9) == "x-nexafi-" then
      forged[#forged + 1] = key
    end
  end
  for _, key in ipairs(forged) do
    headers:remove(key)
  end

  if headers:get(":method") == "GET" then
    local path = headers:get(":path")
    local id = string.match(path, TXN_PATH)
    local query = ""
    if id == nil then
      id, query = string.match(path, TXN_PATH_QUERY)
    end
    if id ~= nil then
      headers:replace(":path", "/api/v1/ledger/entries/" .. id .. (query or ""))
    end
  end
end
