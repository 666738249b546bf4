%% The distribution benchmark (issue 17; `cargo bench --bench compare --
%% --only dist`, benches/compare/dist.rs) between two Erlang nodes; the
%% ttvm twins are benches/compare/ttvm/dist_server.ttvm and
%% dist_client.ttvm, with the same protocol:
%%
%%   erl -sname S -setcookie C -noshell -pa EBIN -run distbench server
%%   erl -sname C -setcookie C -noshell -pa EBIN \
%%       -run distbench client S@HOST WARM PINGS STREAM -s erlang halt
%%
%% The server registers as `distbench` and prints `ready`; the client says
%% hello ({self(), Pings, Stream}: the connection is made then, untimed),
%% does Warm + Pings ping-pong round trips (sends self(), gets 1; the last
%% Pings timed), then streams the integers 1..Stream one way and waits for
%% the server's sum of them (timed from the first send to that ack). It
%% prints `ping_us T`, `stream_us T` and `sum N`.
-module(distbench).
-export([server/0, client/1]).

server() ->
    register(distbench, self()),
    io:format("ready~n"),
    {From, Pings, Stream} = receive Hello -> Hello end,
    From ! self(),
    pong(Pings),
    From ! sink(Stream, 0),
    %% The ack must reach the client before this node stops: stop when
    %% the client's node goes (it stops once it has the ack), or after a
    %% bound.
    monitor_node(node(From), true),
    receive {nodedown, _} -> ok after 10000 -> ok end,
    erlang:halt(0).

pong(0) -> ok;
pong(N) ->
    receive From -> From ! 1 end,
    pong(N - 1).

sink(0, Sum) -> Sum;
sink(N, Sum) ->
    receive I -> sink(N - 1, Sum + I) end.

client([Node, Warm, Pings, Stream]) ->
    [W, P, S] = [list_to_integer(X) || X <- [Warm, Pings, Stream]],
    {distbench, list_to_atom(Node)} ! {self(), W + P, S},
    Srv = receive Pid when is_pid(Pid) -> Pid after 30000 -> erlang:halt(3) end,
    ping(Srv, W),
    T0 = erlang:monotonic_time(microsecond),
    ping(Srv, P),
    T1 = erlang:monotonic_time(microsecond),
    io:format("ping_us ~p~n", [T1 - T0]),
    T2 = erlang:monotonic_time(microsecond),
    send(Srv, 1, S),
    Sum = receive Ack -> Ack end,
    T3 = erlang:monotonic_time(microsecond),
    io:format("stream_us ~p~n", [T3 - T2]),
    io:format("sum ~p~n", [Sum]).

ping(_, 0) -> ok;
ping(Srv, N) ->
    Srv ! self(),
    receive _ -> ping(Srv, N - 1) end.

send(_, I, S) when I > S -> ok;
send(Srv, I, S) ->
    Srv ! I,
    send(Srv, I + 1, S).
