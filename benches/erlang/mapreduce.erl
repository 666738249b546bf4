%% Map-reduce over 8 worker processes: the main process makes N numbers
%% with a Park-Miller generator, cut into 8 chunks; it spawns a worker per
%% chunk, which maps each number X to the length of the Collatz sequence
%% (steps to reach 1) of X rem 100000 + 1 and reduces its chunk to the sum
%% and the maximum of the lengths, and sends them back; main combines the 8
%% partial results. Same algorithm and output as benches/lua/mapreduce.lua (with
%% coroutines) and benches/programs/mapreduce.ttvm.
-module(mapreduce).
-export([main/1]).

-define(WORKERS, 8).

main(Args) ->
    N = bench:arg(Args),
    bench:run_text(fun() -> run(N) end).

run(N) ->
    Chunks = chunks(?WORKERS, N div ?WORKERS, 42, []),
    Self = self(),
    [spawn(fun() -> Self ! {partial, reduce(Chunk, 0, 0)} end) || Chunk <- Chunks],
    {Sum, Max} = collect(?WORKERS, 0, 0),
    io_lib:format("~b numbers, ~b steps, longest ~b~n", [N, Sum, Max]).

%% W chunks of Size numbers each; the generator's state runs on from one
%% chunk to the next.
chunks(0, _Size, _X, Acc) -> lists:reverse(Acc);
chunks(W, Size, X0, Acc) ->
    {Chunk, X} = numbers(Size, X0, []),
    chunks(W - 1, Size, X, [Chunk | Acc]).

numbers(0, X, Acc) -> {lists:reverse(Acc), X};
numbers(K, X0, Acc) ->
    X = X0 * 16807 rem 2147483647,
    numbers(K - 1, X, [X | Acc]).

reduce([], Sum, Max) -> {Sum, Max};
reduce([X | Xs], Sum, Max) ->
    S = collatz(X rem 100000 + 1, 0),
    reduce(Xs, Sum + S, max(Max, S)).

collatz(1, S) -> S;
collatz(X, S) when X rem 2 =:= 0 -> collatz(X div 2, S + 1);
collatz(X, S) -> collatz(3 * X + 1, S + 1).

collect(0, Sum, Max) -> {Sum, Max};
collect(K, Sum, Max) ->
    receive
        {partial, {S, M}} -> collect(K - 1, Sum + S, max(Max, M))
    end.
