%% binary-trees (the Computer Language Benchmarks Game): allocate and walk
%% perfect binary trees of depth 4, 6, ... up to N, plus a stretch tree of
%% depth N+1 and a long-lived tree of depth N; prints the standard lines.
%% Same algorithm and output as benches/lua/binarytrees.lua and
%% benches/programs/binarytrees.ttvm.
%%
%% A node is {Left, Right}; a leaf is {nil, nil}.
-module(binarytrees).
-export([main/1]).

-define(MIN_DEPTH, 4).

main(Args) ->
    N = bench:arg(Args),
    bench:run_text(fun() -> run(N) end).

run(N) ->
    MaxDepth = max(?MIN_DEPTH + 2, N),
    Stretch = MaxDepth + 1,
    L1 = io_lib:format("stretch tree of depth ~b\t check: ~b~n",
                       [Stretch, check(make(Stretch))]),
    LongLived = make(MaxDepth),
    Ls = [depth(D, MaxDepth) || D <- lists:seq(?MIN_DEPTH, MaxDepth, 2)],
    L2 = io_lib:format("long lived tree of depth ~b\t check: ~b~n",
                       [MaxDepth, check(LongLived)]),
    [L1, Ls, L2].

depth(D, MaxDepth) ->
    Iterations = 1 bsl (MaxDepth - D + ?MIN_DEPTH),
    io_lib:format("~b\t trees of depth ~b\t check: ~b~n",
                  [Iterations, D, iterate(Iterations, D, 0)]).

iterate(0, _D, Sum) -> Sum;
iterate(K, D, Sum) -> iterate(K - 1, D, Sum + check(make(D))).

make(0) -> {nil, nil};
make(D) -> {make(D - 1), make(D - 1)}.

check({nil, nil}) -> 1;
check({L, R}) -> 1 + check(L) + check(R).
