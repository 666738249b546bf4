%% A ring of 1000 processes passing a counter token Hops times
%% (ttvm: benches/programs/ring.ttvm). Each node forwards Hops-1 until 0.
-module(ring).
-export([main/1]).

-define(SIZE, 1000).

main(Args) ->
    Hops = bench:arg(Args),
    bench:run(fun() -> run(Hops) end).

run(Hops) ->
    Next = build(?SIZE - 1, self()),
    Next ! Hops,
    main_loop(Next).

build(0, Next) -> Next;
build(K, Next) -> build(K - 1, spawn(fun() -> ring_node(Next) end)).

main_loop(Next) ->
    receive
        0 -> 0;
        H -> Next ! H - 1, main_loop(Next)
    end.

ring_node(Next) ->
    receive
        0 -> Next ! 0;
        H -> Next ! H - 1, ring_node(Next)
    end.
