-- Runs on the routes that need a token, after jwt_authn and the rate limiter. jwt_authn lets a
-- missing or failed token through (allow_missing_or_failed) so that the limiter charges such a
-- request to the client address; here it is refused. x-nexafi-subject exists only when
-- jwt_authn verified a token (request.lua strips any client-sent copy).
-- Prelude (services/gateway/filters.py): SUBJECT_HEADER, FAILURE_KEY.

function envoy_on_request(handle)
  if handle:headers():get(SUBJECT_HEADER) ~= nil then
    return
  end
  local status, message = "401", "Jwt is missing"
  local jwt = handle:streamInfo():dynamicMetadata():get("envoy.filters.http.jwt_authn")
  if jwt ~= nil and jwt[FAILURE_KEY] ~= nil and jwt[FAILURE_KEY]["message"] ~= nil then
    message = jwt[FAILURE_KEY]["message"]
    -- As jwt_authn itself answers: a valid token for another audience is 403.
    if string.find(message, "Audiences in Jwt are not allowed", 1, true) ~= nil then
      status = "403"
    end
  end
  -- The body becomes the message of the JSON error (local_reply_config).
  handle:respond({[":status"] = status, ["www-authenticate"] = "Bearer"}, message)
end
