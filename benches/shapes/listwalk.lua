-- benches/shapes/listwalk.ttvm in Lua 5.4 (0-based like the .ttvm)
local n, xs, i = 10000, {}, 0
while i < n do
  xs[i + 1] = i
  i = i + 1
end
local total, r = 0, 0
while r < 300 do
  i = 0
  while i < #xs do
    total = total + xs[i + 1]
    i = i + 1
  end
  r = r + 1
end
print(total)
