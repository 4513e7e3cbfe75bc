-- CreateBooking then cancel (UpdateBooking CANCELED), cycling over slots. Args: slots file (one Slot
-- JSON a line), unique run prefix, Authorization header, "keep" to keep the bookings (no cancels: the
-- scaling run fills the store this way, the head-to-head measures CreateBooking alone), and a
-- PaymentInformation JSON to send in every CreateBooking. Cancels of answered bookings go out first.

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

creates, cancels, failures = 0, 0, 0
local slots, pending, n, prefix, headers, keep, payment = {}, {}, 0, "", {}, false, ""

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then table.insert(slots, line) end
  end
  prefix = args[2]
  headers = {["Content-Type"] = "application/json"}
  if args[3] and args[3] ~= "" then headers["Authorization"] = args[3] end
  keep = args[4] == "keep"
  if args[5] and args[5] ~= "" then payment = '"payment_information":' .. args[5] .. ',' end
end

function request()
  local booking_id = table.remove(pending)
  if booking_id then
    return wrk.format("POST", "/v3/UpdateBooking", headers,
      '{"booking":{"booking_id":"' .. booking_id .. '","status":"CANCELED"}}')
  end
  n = n + 1
  local body = string.format(
    '{"slot":%s,"user_information":{"user_id":"%s-u%d","given_name":"Bench","family_name":"User",' ..
    '"telephone":"+1 555-010-0101","email":"bench@example.com"},%s"idempotency_token":"%s-t%d"}',
    slots[(n - 1) % #slots + 1], prefix, n, payment, prefix, n)
  return wrk.format("POST", "/v3/CreateBooking", headers, body)
end

function response(status, _, body)
  if status ~= 200 or body:find('"booking_failure"', 1, true) then
    failures = failures + 1
  elseif body:find('"status":"CANCELED"', 1, true) then
    cancels = cancels + 1
  else
    local booking_id = body:match('"booking_id":"([^"]+)"')
    if booking_id then
      creates = creates + 1
      if not keep then table.insert(pending, booking_id) end
    else
      failures = failures + 1
    end
  end
end
