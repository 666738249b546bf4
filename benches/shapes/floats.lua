-- benches/shapes/floats.ttvm in Lua 5.4
local n, sum, sign, k = 5000000, 0.0, 1.0, 0
while k < n do
  sum = sign / (k * 2 + 1 + 0.0) + sum
  sign = -sign
  k = k + 1
end
print(string.format("%.15g", sum * 4.0))
