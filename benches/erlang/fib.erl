%% Naive recursive fib(N) (ttvm: benches/programs/fib30.ttvm, fib32.ttvm).
-module(fib).
-export([main/1, fib/1]).

main(Args) ->
    N = bench:arg(Args),
    bench:run(fun() -> fib(N) end).

fib(N) when N < 2 -> N;
fib(N) -> fib(N - 1) + fib(N - 2).
