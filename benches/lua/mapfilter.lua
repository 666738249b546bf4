-- Map / filter / fold with closures: R rounds over the list 1..N; round K
-- maps x to x * K + 1 with a closure capturing K, keeps the elements not
-- divisible by 3 with a closure capturing the divisor, and folds the rest
-- to a sum; prints the total of the R sums. Same algorithm and output as
-- benches/erlang/mapfilter.erl and benches/programs/mapfilter.ttvm.
--
-- Lua has no map/filter/fold in its library; these are the usual
-- definitions over arrays, each making a new array.
-- The argument is "NxR", e.g. 10000x100.
local bench = dofile((arg[0]:match("^(.*/)") or "./") .. "bench.lua")

local function map(f, t)
  local out = {}
  for i = 1, #t do
    out[i] = f(t[i])
  end
  return out
end

local function filter(p, t)
  local out = {}
  for i = 1, #t do
    local x = t[i]
    if p(x) then
      out[#out + 1] = x
    end
  end
  return out
end

local function fold(f, acc, t)
  for i = 1, #t do
    acc = f(acc, t[i])
  end
  return acc
end

local n, r = (arg[1] or ""):match("^(%d+)x(%d+)$")
if not n then
  io.stderr:write("usage: " .. arg[0] .. " NxR (e.g. 10000x100)\n")
  os.exit(2)
end
n, r = tonumber(n), tonumber(r)
bench.run_text(function()
  local list = {}
  for i = 1, n do
    list[i] = i
  end
  local divisor = 3
  local total = 0
  for k = 1, r do
    local mapped = map(function(x) return x * k + 1 end, list)
    local kept = filter(function(x) return x % divisor ~= 0 end, mapped)
    total = total + fold(function(s, x) return s + x end, 0, kept)
  end
  return string.format("%d\n", total)
end)
