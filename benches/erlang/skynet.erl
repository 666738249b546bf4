%% Skynet: a tree of processes with fan-out 10 over Size leaves; leaves send
%% their number up, each node sends the sum of its children
%% (ttvm: benches/programs/skynet.ttvm). Size 1,000,000 -> 1,111,111 processes.
-module(skynet).
-export([main/1]).

main(Args) ->
    Size = bench:arg(Args),
    bench:run(fun() -> run(Size) end).

run(Size) ->
    Self = self(),
    spawn(fun() -> skynet(Self, 0, Size) end),
    receive Sum -> Sum end.

skynet(Parent, Num, 1) -> Parent ! Num;
skynet(Parent, Num, Size) ->
    Sub = Size div 10,
    Self = self(),
    [spawn(fun() -> skynet(Self, Num + I * Sub, Sub) end) || I <- lists:seq(0, 9)],
    Parent ! collect(10, 0).

collect(0, Sum) -> Sum;
collect(K, Sum) -> receive X -> collect(K - 1, Sum + X) end.
