-- benches/shapes/while_acc.ttvm in Lua 5.4
local n, i, acc = 10000000, 0, 0
while i < n do
  acc = acc + i
  i = i + 1
end
print(acc)
