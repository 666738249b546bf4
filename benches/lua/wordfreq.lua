-- Word frequency: generate a text of N words (10 to a line) drawn from a
-- fixed vocabulary of 64 words by a Park-Miller generator (the smaller of
-- two draws, so earlier words are more frequent), split it into words,
-- count them in a table and print the word count, the number of distinct
-- words and the 10 most frequent (by count, then word). Same algorithm and
-- output as benches/erlang/wordfreq.erl.
--
-- The text is one string (table.concat of the pieces); gmatch("%S+")
-- splits it.
local bench = dofile((arg[0]:match("^(.*/)") or "./") .. "bench.lua")

local VOCABULARY = "the of and to in a is that for it as was with be by on not he this "
  .. "are or his from at which but have an they you were her she there "
  .. "been one all we their has would when if so no will more out up into "
  .. "do any your what some can people government information language "
  .. "morning river mountain question"

-- Park-Miller: x * 16807 stays below 2^53, exact in LuaJIT's doubles too.
local function next_random(x)
  return x * 16807 % 2147483647
end

local n = bench.arg()
bench.run_text(function()
  local vocabulary = {}
  for w in VOCABULARY:gmatch("%S+") do
    vocabulary[#vocabulary + 1] = w
  end
  local v = #vocabulary

  -- The text: word j is followed by a newline when j is a multiple of 10.
  local pieces = {}
  local x = 42
  for j = 1, n do
    local x1 = next_random(x)
    x = next_random(x1)
    local i = math.min(x1 % v, x % v)
    pieces[#pieces + 1] = vocabulary[i + 1]
    pieces[#pieces + 1] = (j % 10 == 0) and "\n" or " "
  end
  local text = table.concat(pieces)

  local counts, words, distinct = {}, 0, 0
  for w in text:gmatch("%S+") do
    words = words + 1
    local c = counts[w]
    if c then
      counts[w] = c + 1
    else
      counts[w] = 1
      distinct = distinct + 1
    end
  end

  local sorted = {}
  for w, c in pairs(counts) do
    sorted[#sorted + 1] = { word = w, count = c }
  end
  table.sort(sorted, function(a, b)
    if a.count ~= b.count then
      return a.count > b.count
    end
    return a.word < b.word
  end)
  local out = { string.format("%d words, %d distinct\n", words, distinct) }
  for k = 1, math.min(10, #sorted) do
    out[#out + 1] = string.format("%s %d\n", sorted[k].word, sorted[k].count)
  end
  return table.concat(out)
end)
