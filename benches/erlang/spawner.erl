%% Spawn N processes that exit at once (ttvm: benches/programs/spawn.ttvm).
-module(spawner).
-export([main/1]).

main(Args) ->
    N = bench:arg(Args),
    bench:run(fun() -> loop(N) end).

loop(0) -> spawned;
loop(N) -> spawn(fun() -> ok end), loop(N - 1).
