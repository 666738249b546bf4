%% Fairness: N ping-pong round trips while another process spins forever
%% on the same scheduler (ttvm: benches/programs/fairness.ttvm).
-module(fairness).
-export([main/1]).

main(Args) ->
    N = bench:arg(Args),
    spawn(fun() -> spin(0) end),
    Pong = spawn(fun pong/0),
    bench:run(fun() -> ping(Pong, N) end),
    erlang:halt(0).

spin(X) -> spin(X + 1).

pong() ->
    receive
        From -> From ! 1, pong()
    end.

ping(_, 0) -> 1000;
ping(Pong, K) ->
    Pong ! self(),
    receive
        1 -> ping(Pong, K - 1)
    end.
