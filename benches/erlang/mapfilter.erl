%% Map / filter / fold with closures: R rounds over the list 1..N; round K
%% maps X to X * K + 1 with a closure capturing K, keeps the elements not
%% divisible by 3 with a closure capturing the divisor, and folds the rest
%% to a sum; prints the total of the R sums. Same algorithm and output as
%% benches/lua/mapfilter.lua and benches/programs/mapfilter.ttvm.
-module(mapfilter).
-export([main/1]).

main(Args) ->
    [N, R] = [list_to_integer(A) || A <- string:lexemes(hd(Args), "x")],
    bench:run_text(fun() -> run(N, R) end).

run(N, R) ->
    L = lists:seq(1, N),
    Divisor = 3,
    Total = lists:foldl(
        fun(K, Acc) ->
            Mapped = lists:map(fun(X) -> X * K + 1 end, L),
            Kept = lists:filter(fun(X) -> X rem Divisor =/= 0 end, Mapped),
            Acc + lists:foldl(fun(X, S) -> S + X end, 0, Kept)
        end,
        0,
        lists:seq(1, R)),
    io_lib:format("~b~n", [Total]).
