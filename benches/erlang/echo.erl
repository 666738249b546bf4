%% The echo server of the echo benchmark (issue 16; docs/NETWORK.md,
%% "Benchmark"): gen_tcp in active mode, one process per connection.
%%
%%   erl -noshell -pa EBIN -run echo main PORT
%%
%% listens on 127.0.0.1:PORT (0: any free port), prints `listening on
%% PORT` once it accepts connections, and echoes every byte each client
%% sends until the client closes. It runs until it is killed.
-module(echo).
-export([main/1]).

main([PortArg]) ->
    Port = list_to_integer(PortArg),
    {ok, Listen} = gen_tcp:listen(Port, [binary, {packet, raw}, {active, false},
                                         {reuseaddr, true}, {backlog, 1024},
                                         {nodelay, true}, {ip, {127, 0, 0, 1}}]),
    {ok, Actual} = inet:port(Listen),
    io:format("listening on ~p~n", [Actual]),
    accept(Listen).

accept(Listen) ->
    case gen_tcp:accept(Listen) of
        {ok, Socket} ->
            Pid = spawn(fun() -> start(Socket) end),
            ok = gen_tcp:controlling_process(Socket, Pid),
            Pid ! go;
        {error, _} ->
            ok
    end,
    accept(Listen).

%% Active mode only once the process owns the socket.
start(Socket) ->
    receive go -> ok end,
    ok = inet:setopts(Socket, [{active, true}]),
    loop(Socket).

loop(Socket) ->
    receive
        {tcp, Socket, Data} ->
            gen_tcp:send(Socket, Data),
            loop(Socket);
        {tcp_closed, Socket} ->
            ok;
        {tcp_error, Socket, _Reason} ->
            gen_tcp:close(Socket)
    end.
