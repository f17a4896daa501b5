-- Custom functions callable from EQL (kestrel query/compile --functions functions.lua): each
-- entry declares its parameter and result types (string, number, bool, any), which the EQL
-- compiler checks calls against. Runs in Kestrel's Lua sandbox (no io/os/require/ffi; step and
-- memory limits); a failing call is null for that event and counted.
local kestrel = ...

local function has_token(s)
  for run in s:gmatch("[A-Za-z0-9+/]+") do
    if #run >= 32 and run:find("%u") and run:find("%l") and run:find("%d") then return true end
  end
  return false
end

return {
  -- A string, or any string of an array, holds a run of at least 32 base64 characters with
  -- upper-case letters, lower-case letters and digits.
  has_b64_token = {
    params = { "any" },
    returns = "bool",
    fn = function(v)
      if type(v) == "string" then return has_token(v) end
      if type(v) ~= "table" then return nil end
      for _, s in ipairs(v) do
        if type(s) == "string" and has_token(s) then return true end
      end
      return false
    end,
  },
}
