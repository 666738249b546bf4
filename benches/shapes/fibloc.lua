-- benches/shapes/fibloc.ttvm in Lua 5.4
local function fib(n)
  if n <= 1 then return n end
  local a = fib(n - 1)
  return fib(n - 2) + a
end
print(fib(27))
