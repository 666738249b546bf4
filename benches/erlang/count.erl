%% Counting loop: a tail-recursive loop up to N (ttvm: benches/programs/count.ttvm).
-module(count).
-export([main/1]).

main(Args) ->
    N = bench:arg(Args),
    bench:run(fun() -> loop(0, N) end).

loop(I, N) when I < N -> loop(I + 1, N);
loop(I, _) -> I.
