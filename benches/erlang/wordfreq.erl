%% Word frequency: generate a text of N words (10 to a line) drawn from a
%% fixed vocabulary of 64 words by a Park-Miller generator (the smaller of
%% two draws, so earlier words are more frequent), split it into words,
%% count them in a map and print the word count, the number of distinct
%% words and the 10 most frequent (by count, then word). Same algorithm and
%% output as benches/lua/wordfreq.lua.
%%
%% The text is one binary; binary:split cuts it at spaces and newlines.
-module(wordfreq).
-export([main/1]).

-define(VOCABULARY,
        "the of and to in a is that for it as was with be by on not he this "
        "are or his from at which but have an they you were her she there "
        "been one all we their has would when if so no will more out up into "
        "do any your what some can people government information language "
        "morning river mountain question").

main(Args) ->
    N = bench:arg(Args),
    bench:run_text(fun() -> run(N) end).

run(N) ->
    Vocabulary = list_to_tuple([list_to_binary(W) || W <- string:lexemes(?VOCABULARY, " ")]),
    Text = iolist_to_binary(text(N, Vocabulary)),
    Words = binary:split(Text, [<<" ">>, <<"\n">>], [global, trim_all]),
    Counts = lists:foldl(fun(W, M) -> maps:update_with(W, fun(C) -> C + 1 end, 1, M) end,
                         #{}, Words),
    Sorted = lists:sort([{-C, W} || {W, C} <- maps:to_list(Counts)]),
    Top = lists:sublist(Sorted, 10),
    [io_lib:format("~b words, ~b distinct~n", [length(Words), map_size(Counts)]),
     [io_lib:format("~s ~b~n", [W, -C]) || {C, W} <- Top]].

%% The text as a list of binaries: word J (1-based) is followed by a
%% newline when J is a multiple of 10, else by a space.
text(N, V) -> text(1, N, V, 42, []).

text(J, N, _V, _X, Acc) when J > N -> lists:reverse(Acc);
text(J, N, V, X0, Acc) ->
    X1 = next(X0),
    X2 = next(X1),
    I = min(X1 rem tuple_size(V), X2 rem tuple_size(V)),
    Sep = case J rem 10 of
              0 -> <<"\n">>;
              _ -> <<" ">>
          end,
    text(J + 1, N, V, X2, [Sep, element(I + 1, V) | Acc]).

next(X) -> X * 16807 rem 2147483647.
