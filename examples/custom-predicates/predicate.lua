-- A user-written predicate for Kestrel's Lua runtime (Host API v1, docs/host-api.md): true when
-- a process argument holds a run of at least 32 base64 characters that mixes upper-case letters,
-- lower-case letters and digits.
local kestrel = ...
kestrel.require_api(1)

local ARGS -- FieldId of process.args, looked up on the first call

local function has_token(s)
  for run in s:gmatch("[A-Za-z0-9+/]+") do
    if #run >= 32 and run:find("%u") and run:find("%l") and run:find("%d") then return true end
  end
  return false
end

return {
  function()
    if ARGS == nil then
      ARGS = kestrel.field_id("process.args")
      if ARGS == nil then return -1 end
    end
    local n = kestrel.field_array_len(ARGS)
    if n < 0 then -- a single string, or absent
      local s = kestrel.field_string(ARGS)
      if s == nil then return -1 end
      return has_token(s) and 1 or 0
    end
    for i = 0, n - 1 do
      local s = kestrel.field_string(ARGS, i)
      if s ~= nil and has_token(s) then return 1 end
    end
    return 0
  end,
}
