%% N ping-pong round trips between two processes (ttvm: benches/programs/pingpong.ttvm).
-module(pingpong).
-export([main/1]).

main(Args) ->
    N = bench:arg(Args),
    bench:run(fun() -> run(N) end).

run(N) ->
    P = spawn(fun pong/0),
    R = ping(P, N),
    P ! stop,
    R.

ping(_, 0) -> 0;
ping(P, N) ->
    P ! self(),
    receive _ -> ping(P, N - 1) end.

pong() ->
    receive
        stop -> ok;
        From -> From ! 1, pong()
    end.
