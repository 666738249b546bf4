-- Counting loop: a while loop up to N (ttvm: benches/programs/count.ttvm,
-- Erlang: benches/erlang/count.erl).
local bench = dofile((arg[0]:match("^(.*/)") or "./") .. "bench.lua")

local n = bench.arg()
bench.run_text(function()
  local i = 0
  while i < n do
    i = i + 1
  end
  return string.format("%d\n", i)
end)
