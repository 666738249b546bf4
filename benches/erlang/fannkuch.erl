%% fannkuch-redux (the Computer Language Benchmarks Game): for every
%% permutation of 0..N-1 in the benchmark's order, count the prefix
%% reversals ("flips") until 0 comes first; prints the checksum (flips
%% added for even-numbered permutations, subtracted for odd) and the most
%% flips. Same algorithm and output as benches/lua/fannkuch.lua and
%% benches/programs/fannkuch.ttvm.
%%
%% The permutation is a list (a flip is lists:split + lists:reverse); the
%% counters that generate the next permutation are a tuple.
-module(fannkuch).
-export([main/1]).

main(Args) ->
    N = bench:arg(Args),
    bench:run_text(fun() -> run(N) end).

run(N) ->
    Count = erlang:make_tuple(N, 0),
    {Checksum, MaxFlips} = loop(lists:seq(0, N - 1), Count, N, N, 0, 0, 0),
    io_lib:format("~b~nPfannkuchen(~b) = ~b~n", [Checksum, N, MaxFlips]).

%% Perm: the current permutation; R: how many leading counters to reset;
%% I: the permutation's number.
loop(Perm, Count0, R, N, I, Checksum, MaxFlips) ->
    Count = reset(Count0, R),
    Flips = flips(Perm, 0),
    Checksum1 = case I rem 2 of
                    0 -> Checksum + Flips;
                    1 -> Checksum - Flips
                end,
    MaxFlips1 = max(MaxFlips, Flips),
    case next(Perm, Count, 2, N) of
        done -> {Checksum1, MaxFlips1};
        {Perm1, Count1, R1} -> loop(Perm1, Count1, R1, N, I + 1, Checksum1, MaxFlips1)
    end.

%% Counter r (1-based, r = 2..R) starts at r.
reset(Count, R) when R > 1 -> reset(setelement(R, Count, R), R - 1);
reset(Count, _) -> Count.

flips([0 | _], F) -> F;
flips([K | _] = P, F) ->
    {A, B} = lists:split(K + 1, P),
    flips(lists:reverse(A, B), F + 1).

%% The next permutation: rotate the first R elements left by one and count
%% down counter R; when it reaches 0, do the same with R + 1.
next(_Perm, _Count, R, N) when R > N -> done;
next(Perm, Count, R, N) ->
    {[First | Rest], Tail} = lists:split(R, Perm),
    Perm1 = Rest ++ [First | Tail],
    C = element(R, Count) - 1,
    Count1 = setelement(R, Count, C),
    if
        C > 0 -> {Perm1, Count1, R - 1};
        true -> next(Perm1, Count1, R + 1, N)
    end.
