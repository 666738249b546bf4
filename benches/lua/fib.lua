-- Naive recursive fib(N) (ttvm: benches/programs/fib30.ttvm, fib32.ttvm;
-- Erlang: benches/erlang/fib.erl).
local bench = dofile((arg[0]:match("^(.*/)") or "./") .. "bench.lua")

local function fib(n)
  if n < 2 then
    return n
  end
  return fib(n - 1) + fib(n - 2)
end

local n = bench.arg()
bench.run_text(function()
  return string.format("%d\n", fib(n))
end)
