-- binary-trees (the Computer Language Benchmarks Game): allocate and walk
-- perfect binary trees of depth 4, 6, ... up to N, plus a stretch tree of
-- depth N+1 and a long-lived tree of depth N; prints the standard lines.
-- Same algorithm and output as benches/erlang/binarytrees.erl and
-- benches/programs/binarytrees.ttvm.
--
-- A node is a table {left, right}; a leaf is {} (both nil).
local bench = dofile((arg[0]:match("^(.*/)") or "./") .. "bench.lua")

local MIN_DEPTH = 4

local function make(depth)
  if depth == 0 then
    return {}
  end
  depth = depth - 1
  return { make(depth), make(depth) }
end

local function check(tree)
  if tree[1] then
    return 1 + check(tree[1]) + check(tree[2])
  end
  return 1
end

local n = bench.arg()
bench.run_text(function()
  local out = {}
  local max_depth = math.max(MIN_DEPTH + 2, n)
  local stretch = max_depth + 1
  out[#out + 1] = string.format("stretch tree of depth %d\t check: %d\n",
    stretch, check(make(stretch)))
  local long_lived = make(max_depth)
  for depth = MIN_DEPTH, max_depth, 2 do
    local iterations = 2 ^ (max_depth - depth + MIN_DEPTH)
    local sum = 0
    for _ = 1, iterations do
      sum = sum + check(make(depth))
    end
    out[#out + 1] = string.format("%d\t trees of depth %d\t check: %d\n",
      iterations, depth, sum)
  end
  out[#out + 1] = string.format("long lived tree of depth %d\t check: %d\n",
    max_depth, check(long_lived))
  return table.concat(out)
end)
