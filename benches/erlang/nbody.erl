%% n-body (the Computer Language Benchmarks Game): a simulation of the
%% Jovian planets; prints the energy before and after N steps, 9 decimals.
%% Same algorithm and output as benches/lua/nbody.lua.
%%
%% Each body is a tuple {X, Y, Z, Vx, Vy, Vz, Mass}; a step updates the
%% velocities of every pair, then moves every body.
-module(nbody).
-export([main/1]).

-define(PI, 3.141592653589793).
-define(SOLAR_MASS, (4 * ?PI * ?PI)).
-define(DAYS_PER_YEAR, 365.24).

main(Args) ->
    N = bench:arg(Args),
    bench:run_text(fun() -> run(N) end).

run(N) ->
    Bodies = offset_momentum(bodies()),
    E0 = energy(Bodies),
    E1 = energy(advance(N, Bodies, 0.01)),
    io_lib:format("~.9f~n~.9f~n", [E0, E1]).

bodies() ->
    D = ?DAYS_PER_YEAR,
    [
        %% sun
        {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, ?SOLAR_MASS},
        %% jupiter
        {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
         1.66007664274403694e-03 * D, 7.69901118419740425e-03 * D,
         -6.90460016972063023e-05 * D, 9.54791938424326609e-04 * ?SOLAR_MASS},
        %% saturn
        {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
         -2.76742510726862411e-03 * D, 4.99852801234917238e-03 * D,
         2.30417297573763929e-05 * D, 2.85885980666130812e-04 * ?SOLAR_MASS},
        %% uranus
        {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
         2.96460137564761618e-03 * D, 2.37847173959480950e-03 * D,
         -2.96589568540237556e-05 * D, 4.36624404335156298e-05 * ?SOLAR_MASS},
        %% neptune
        {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
         2.68067772490389322e-03 * D, 1.62824170038242295e-03 * D,
         -9.51592254519715870e-05 * D, 5.15138902046611451e-05 * ?SOLAR_MASS}
    ].

%% The sun gets the momentum that makes the system's total zero.
offset_momentum(Bodies) ->
    {Px, Py, Pz} = lists:foldl(
        fun({_, _, _, Vx, Vy, Vz, M}, {Px, Py, Pz}) ->
            {Px + Vx * M, Py + Vy * M, Pz + Vz * M}
        end,
        {0.0, 0.0, 0.0},
        Bodies),
    [{X, Y, Z, _, _, _, M} | Rest] = Bodies,
    [{X, Y, Z, -Px / ?SOLAR_MASS, -Py / ?SOLAR_MASS, -Pz / ?SOLAR_MASS, M} | Rest].

energy(Bodies) -> energy(Bodies, 0.0).

energy([], E) -> E;
energy([{X, Y, Z, Vx, Vy, Vz, M} | Rest], E) ->
    E1 = E + 0.5 * M * (Vx * Vx + Vy * Vy + Vz * Vz),
    E2 = lists:foldl(
        fun({X2, Y2, Z2, _, _, _, M2}, Acc) ->
            Dx = X - X2, Dy = Y - Y2, Dz = Z - Z2,
            Acc - M * M2 / math:sqrt(Dx * Dx + Dy * Dy + Dz * Dz)
        end,
        E1,
        Rest),
    energy(Rest, E2).

advance(0, Bodies, _Dt) -> Bodies;
advance(N, Bodies, Dt) ->
    advance(N - 1, move(velocities(Bodies, Dt), Dt), Dt).

%% Updates the velocities of every pair: the first body against the rest,
%% then the rest among themselves.
velocities([], _Dt) -> [];
velocities([B | Rest], Dt) ->
    {B1, Rest1} = pull(B, Rest, Dt, []),
    [B1 | velocities(Rest1, Dt)].

pull(B, [], _Dt, Acc) -> {B, lists:reverse(Acc)};
pull({X, Y, Z, Vx, Vy, Vz, M}, [{X2, Y2, Z2, Vx2, Vy2, Vz2, M2} | Rest], Dt, Acc) ->
    Dx = X - X2, Dy = Y - Y2, Dz = Z - Z2,
    D2 = Dx * Dx + Dy * Dy + Dz * Dz,
    Mag = Dt / (D2 * math:sqrt(D2)),
    B1 = {X, Y, Z, Vx - Dx * M2 * Mag, Vy - Dy * M2 * Mag, Vz - Dz * M2 * Mag, M},
    B2 = {X2, Y2, Z2, Vx2 + Dx * M * Mag, Vy2 + Dy * M * Mag, Vz2 + Dz * M * Mag, M2},
    pull(B1, Rest, Dt, [B2 | Acc]).

move(Bodies, Dt) ->
    [{X + Dt * Vx, Y + Dt * Vy, Z + Dt * Vz, Vx, Vy, Vz, M}
     || {X, Y, Z, Vx, Vy, Vz, M} <- Bodies].
