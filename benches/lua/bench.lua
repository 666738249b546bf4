-- Shared helper for the Lua versions of the comparison workloads
-- (benches/compare/). Each workload loads it with
--   local bench = dofile((arg[0]:match("^(.*/)") or "./") .. "bench.lua")
-- and calls bench.run_text(f): f does the work and returns its result as
-- text, which is printed as it is, followed by "time_us N", the time f
-- took. Runs on Lua 5.4 and LuaJIT.
--
-- The clock is os.clock(), the process's CPU time: standard Lua has no
-- wall clock finer than a second (os.time). A Lua program is one thread
-- and does no I/O while it is timed, so on a machine with a free core its
-- CPU time is its wall time; on a busy machine it leaves out the time the
-- process waited for a core, which ttvm's and Erlang's wall-clock timers
-- count. The harness also reports the whole process's wall time.
local bench = {}

-- The integer command-line argument number i (default 1).
function bench.arg(i)
  local a = arg[i or 1]
  local n = tonumber(a)
  if n == nil then
    io.stderr:write("usage: " .. arg[0] .. " N (got " .. tostring(a) .. ")\n")
    os.exit(2)
  end
  return n
end

function bench.run_text(f)
  local t0 = os.clock()
  local text = f()
  local t1 = os.clock()
  io.write(text)
  io.write(string.format("time_us %d\n", math.floor((t1 - t0) * 1e6 + 0.5)))
end

return bench
