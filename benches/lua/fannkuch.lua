-- fannkuch-redux (the Computer Language Benchmarks Game): for every
-- permutation of 0..N-1 in the benchmark's order, count the prefix
-- reversals ("flips") until 0 comes first; prints the checksum (flips
-- added for even-numbered permutations, subtracted for odd) and the most
-- flips. Same algorithm and output as benches/erlang/fannkuch.erl and
-- benches/programs/fannkuch.ttvm.
--
-- Arrays are tables indexed from 1: perm1 is the current permutation,
-- count the counters that generate the next one, perm a scratch copy
-- that is flipped in place.
local bench = dofile((arg[0]:match("^(.*/)") or "./") .. "bench.lua")

local function fannkuch(n)
  local perm, perm1, count = {}, {}, {}
  for i = 1, n do
    perm1[i] = i - 1
    count[i] = 0
  end
  local checksum, max_flips, index = 0, 0, 0
  local r = n
  while true do
    -- Counter r (r = 2..R) starts at r.
    while r > 1 do
      count[r] = r
      r = r - 1
    end
    for i = 1, n do
      perm[i] = perm1[i]
    end
    local flips = 0
    local k = perm[1]
    while k ~= 0 do
      -- Reverse the first k + 1 elements.
      local i, j = 1, k + 1
      while i < j do
        perm[i], perm[j] = perm[j], perm[i]
        i = i + 1
        j = j - 1
      end
      flips = flips + 1
      k = perm[1]
    end
    if index % 2 == 0 then
      checksum = checksum + flips
    else
      checksum = checksum - flips
    end
    if flips > max_flips then
      max_flips = flips
    end
    -- The next permutation: rotate the first r elements left by one and
    -- count down counter r; when it reaches 0, do the same with r + 1.
    r = 2
    while true do
      if r > n then
        return checksum, max_flips
      end
      local first = perm1[1]
      for i = 1, r - 1 do
        perm1[i] = perm1[i + 1]
      end
      perm1[r] = first
      count[r] = count[r] - 1
      if count[r] > 0 then
        break
      end
      r = r + 1
    end
    r = r - 1
    index = index + 1
  end
end

local n = bench.arg()
bench.run_text(function()
  local checksum, max_flips = fannkuch(n)
  return string.format("%d\nPfannkuchen(%d) = %d\n", checksum, n, max_flips)
end)
