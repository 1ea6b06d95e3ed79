-- Runs on every proxied request, before jwt_authn and the gRPC-JSON transcoder (1, 2), and on
-- every response, after them (3).
--
-- 1. Strips client-sent x-nexafi-* headers: the gateway alone sets them (jwt_authn
--    copies the verified `sub` claim into x-nexafi-subject, which the rate limiter
--    keys on). jwt_authn only strips the header it sets itself, so a look-alike such
--    as x-nexafi-roles would otherwise reach the services. Also drops header names that
--    cannot be gRPC metadata and refuses values that cannot (400).
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
  for key, value in pairs(headers) do
    if string.sub(key, 1, 9) == "x-nexafi-" then
      forged[#forged + 1] = key
    elseif string.sub(key, 1, 1) ~= ":" then
      -- Headers travel on as gRPC metadata, whose keys are [0-9a-z_.-] and whose values are
      -- printable ASCII: the services' gRPC server resets the stream of anything else (a 503).
      -- A name no service could read is dropped; a value is refused, naming the header.
      if string.find(key, "[^0-9a-z_.-]") ~= nil then
        forged[#forged + 1] = key
      elseif string.find(value, "[^\32-\126]") ~= nil then
        handle:respond({[":status"] = "400"}, "header " .. key ..
          " must be printable ASCII (no control characters, no bytes above 126)")
        return
      end
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

-- 3. Says what was wrong with a request in the API's terms. The gRPC-JSON transcoder's own
--    400 and 404 replies (already in the gateway's {"code": <HTTP status>, "message"} shape,
--    see local_reply_config) name internal proto types and parser states:
--      Could not find field "page_sise" in the type "nexafi.payment.v1.ListPaymentsRequest".
--      page_size: invalid value "abc" for type TYPE_INT32
--      Unexpected end of string. Expected a value.\n{"a":\n     ^
--    They become: unknown query parameter "page_sise"; invalid value for field "page_size":
--    expected a 32-bit integer; the request body is not valid JSON: unexpected end of string...
--    A service's errors (code is the gRPC code, with details) are never touched.

local TYPE_NAMES = {
  TYPE_INT32 = "a 32-bit integer", TYPE_SINT32 = "a 32-bit integer", TYPE_SFIXED32 = "a 32-bit integer",
  TYPE_UINT32 = "an unsigned 32-bit integer", TYPE_FIXED32 = "an unsigned 32-bit integer",
  TYPE_INT64 = "a 64-bit integer (a JSON string or number)",
  TYPE_SINT64 = "a 64-bit integer (a JSON string or number)",
  TYPE_SFIXED64 = "a 64-bit integer (a JSON string or number)",
  TYPE_UINT64 = "an unsigned 64-bit integer (a JSON string or number)",
  TYPE_FIXED64 = "an unsigned 64-bit integer (a JSON string or number)",
  TYPE_BOOL = "true or false", TYPE_STRING = "a string", TYPE_BYTES = "base64-encoded bytes",
  TYPE_DOUBLE = "a number", TYPE_FLOAT = "a number",
}
local WELL_KNOWN = {
  ["google.protobuf.Timestamp"] = "an RFC 3339 timestamp such as \\\"2026-01-31T12:00:00Z\\\"",
  ["google.protobuf.Duration"] = "a duration in seconds such as \\\"1.5s\\\"",
  ["google.protobuf.FieldMask"] = "a comma-separated list of field names",
}

local function expected(kind)
  if TYPE_NAMES[kind] ~= nil then
    return TYPE_NAMES[kind]
  end
  local full = string.match(kind, "^type%.googleapis%.com/([%w_.]+)$")
  if full ~= nil then
    if WELL_KNOWN[full] ~= nil then
      return WELL_KNOWN[full]
    end
    -- An enum or a message: its schema in the API documentation has the short name's values.
    return "a valid " .. string.match(full, "([%w_]+)$") .. " (see the API documentation)"
  end
  return nil
end

-- ``message`` is JSON-escaped (as in the body); so is what this returns.
local function in_api_terms(message)
  local name = string.match(message, '^Could not find field \\"([%w_.]+)\\" in the type \\"[%w_.]+\\"%.?$')
  if name ~= nil then
    return 'unknown query parameter \\"' .. name .. '\\"'
  end
  name = string.match(message, '^Encountered a non%-leaf field \\"([%w_.]+)\\" that is not a message')
  if name ~= nil then
    return 'unknown query parameter: \\"' .. name .. '\\" has no fields'
  end
  if string.match(message, "^: Root element must be a message%.?$") then
    return "the request body must be a JSON object"
  end
  local field = string.match(message, "^([%w_.%[%]]*): invalid value ")
  if field ~= nil then
    local kind = string.match(message, " for type ([%w_./]+)$")
    if field == "" then
      -- The parser names the field in place of the type when a value has the wrong shape.
      field, kind = kind or "", nil
    end
    local want = kind and expected(kind)
    if want ~= nil then
      return 'invalid value for field \\"' .. field .. '\\": expected ' .. want
    end
    return 'invalid value for field \\"' .. field .. '\\"'
  end
  if string.match(message, "^Unexpected ") or string.match(message, "^Expected ")
      or string.find(message, "\\n", 1, true) then
    -- A JSON syntax error: the first line says what; the rest echoes the body with a caret.
    local first = string.match(message, "^(.-)\\n") or message
    first = string.gsub(first, "^%u", string.lower)
    return "the request body is not valid JSON: " .. first
  end
  local path = string.match(message, "^Could not resolve (.-) to a method%.?$")
  if path ~= nil then
    return "no such route: " .. path
  end
  return nil
end

function envoy_on_response(handle)
  local headers = handle:headers()
  local status = headers:get(":status")
  if status ~= "400" and status ~= "404" then
    return
  end
  local content_type = headers:get("content-type") or ""
  if string.sub(content_type, 1, 16) ~= "application/json" then
    return
  end
  local body = handle:body()
  if body == nil or body:length() > 65536 then
    return
  end
  local text = body:getBytes(0, body:length())
  -- The gateway's own replies only: their code is the HTTP status (a service's is a gRPC code).
  local message = string.match(text, '^{"code":' .. status .. ',"message":"(.*)"}%s*$')
  if message == nil then
    return
  end
  local better = in_api_terms(message)
  if better ~= nil then
    local rewritten = '{"code":' .. status .. ',"message":"' .. better .. '"}\n'
    body:setBytes(rewritten)
    headers:replace("content-length", tostring(#rewritten))
  end
end
