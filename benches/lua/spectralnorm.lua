-- spectral-norm (the Computer Language Benchmarks Game): the spectral norm
-- of the infinite matrix A(i,j) = 1/((i+j)(i+j+1)/2+i+1), truncated to
-- N x N, by 10 steps of the power method; prints it with 9 decimals.
-- Same algorithm and output as benches/erlang/spectralnorm.erl.
--
-- Vectors are arrays (tables) of floats indexed from 1; the matrix is
-- indexed from 0 as in the benchmark's definition.
local bench = dofile((arg[0]:match("^(.*/)") or "./") .. "bench.lua")

local function a(i, j)
  local ij = i + j
  return 1.0 / (ij * (ij + 1) / 2 + i + 1)
end

-- y = A x
local function mul_av(x, y, n)
  for i = 0, n - 1 do
    local s = 0.0
    for j = 0, n - 1 do
      s = s + a(i, j) * x[j + 1]
    end
    y[i + 1] = s
  end
end

-- y = At x
local function mul_atv(x, y, n)
  for i = 0, n - 1 do
    local s = 0.0
    for j = 0, n - 1 do
      s = s + a(j, i) * x[j + 1]
    end
    y[i + 1] = s
  end
end

-- y = At A x, t a scratch vector
local function mul_atav(x, y, t, n)
  mul_av(x, t, n)
  mul_atv(t, y, n)
end

local n = bench.arg()
bench.run_text(function()
  local u, v, t = {}, {}, {}
  for i = 1, n do
    u[i] = 1.0
  end
  for _ = 1, 10 do
    mul_atav(u, v, t, n)
    mul_atav(v, u, t, n)
  end
  local vbv, vv = 0.0, 0.0
  for i = 1, n do
    local ui, vi = u[i], v[i]
    vbv = vbv + ui * vi
    vv = vv + vi * vi
  end
  return string.format("%0.9f\n", math.sqrt(vbv / vv))
end)
