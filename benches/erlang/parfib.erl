%% Parallel CPU work: 4 processes each compute fib(N) and send it to the
%% main process, which sums them (ttvm: benches/programs/parfib.ttvm).
-module(parfib).
-export([main/1]).

main(Args) ->
    N = bench:arg(Args),
    bench:run(fun() -> run(N) end).

run(N) ->
    Self = self(),
    [spawn(fun() -> Self ! fib:fib(N) end) || _ <- lists:seq(1, 4)],
    collect(4, 0).

collect(0, Sum) -> Sum;
collect(K, Sum) -> receive X -> collect(K - 1, Sum + X) end.
