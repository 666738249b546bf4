%% Memory per idle process: N processes blocked in receive (ttvm:
%% benches/programs/idle.ttvm); the comparison reads the peak RSS.
-module(idle).
-export([main/1]).

main(Args) ->
    N = bench:arg(Args),
    bench:run(fun() ->
        _ = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, N)],
        "all waiting"
    end).
