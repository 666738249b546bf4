-- benches/shapes/nested.ttvm in Lua 5.4
local s, i = 0, 0
while i < 2000 do
  local j = 0
  while j < 5000 do
    s = (i * j + s) % 1000003
    j = j + 1
  end
  i = i + 1
end
print(s)
