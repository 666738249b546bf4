-- benches/shapes/countdown.ttvm in Lua 5.4
local zero, odd, c = 0, 0, 10000000
repeat
  odd = odd + c % 2
  c = c - 1
until not (c > zero)
print(odd)
