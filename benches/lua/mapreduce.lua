-- Map-reduce over 8 workers: make N numbers with a Park-Miller generator,
-- cut into 8 chunks; a worker per chunk maps each number x to the length
-- of the Collatz sequence (steps to reach 1) of x % 100000 + 1 and reduces
-- its chunk to the sum and the maximum of the lengths; the 8 partial
-- results are combined. Same algorithm and output as
-- benches/erlang/mapreduce.erl and benches/programs/mapreduce.ttvm.
--
-- Lua has no processes: the workers are coroutines, Lua's own stand-in. A
-- round-robin loop resumes them in turn; each yields after every 1000
-- numbers (like a process's time slice) and returns its partial result
-- when its chunk is done, which is then combined as Erlang's main process
-- combines the messages of its workers. One OS thread runs them all, as
-- with one scheduler.
local bench = dofile((arg[0]:match("^(.*/)") or "./") .. "bench.lua")

local WORKERS = 8
local SLICE = 1000

local function collatz(x)
  local steps = 0
  while x ~= 1 do
    if x % 2 == 0 then
      x = math.floor(x / 2)
    else
      x = 3 * x + 1
    end
    steps = steps + 1
  end
  return steps
end

local function worker(chunk)
  local sum, max = 0, 0
  for i = 1, #chunk do
    local s = collatz(chunk[i] % 100000 + 1)
    sum = sum + s
    if s > max then
      max = s
    end
    if i % SLICE == 0 then
      coroutine.yield()
    end
  end
  return sum, max
end

local n = bench.arg()
bench.run_text(function()
  -- 8 chunks of n / 8 numbers; the generator runs on from one to the next.
  local size = math.floor(n / WORKERS)
  local x = 42
  local workers = {}
  for w = 1, WORKERS do
    local chunk = {}
    for i = 1, size do
      x = x * 16807 % 2147483647
      chunk[i] = x
    end
    workers[w] = coroutine.create(function()
      return worker(chunk)
    end)
  end
  -- Run the workers round robin until each has returned its result.
  local sum, max = 0, 0
  local live = WORKERS
  while live > 0 do
    for w = 1, WORKERS do
      local co = workers[w]
      if co then
        local ok, s, m = coroutine.resume(co)
        assert(ok, s)
        if coroutine.status(co) == "dead" then
          sum = sum + s
          if m > max then
            max = m
          end
          workers[w] = false
          live = live - 1
        end
      end
    end
  end
  return string.format("%d numbers, %d steps, longest %d\n", n, sum, max)
end)
