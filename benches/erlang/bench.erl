%% Shared helper for the ttvm-vs-Erlang comparison (benches/compare/).
%% Each workload module calls bench:run/1 with a zero-arity fun; the fun's
%% wall time is measured with erlang:monotonic_time (BEAM start-up excluded)
%% and printed as "time_us N" after the result. run_text/1 is the same for
%% a fun that returns its result as text (iodata, one or more lines), which
%% is printed as it is: the real-program workloads print the same text in
%% every language (benches/lua/, benches/programs/).
-module(bench).
-export([run/1, run_text/1, arg/1]).

arg([A | _]) -> list_to_integer(atom_to_list_or_string(A)).

atom_to_list_or_string(A) when is_atom(A) -> atom_to_list(A);
atom_to_list_or_string(A) -> A.

run(F) ->
    T0 = erlang:monotonic_time(microsecond),
    R = F(),
    T1 = erlang:monotonic_time(microsecond),
    io:format("~p~ntime_us ~p~n", [R, T1 - T0]).

run_text(F) ->
    T0 = erlang:monotonic_time(microsecond),
    Text = F(),
    T1 = erlang:monotonic_time(microsecond),
    io:format("~stime_us ~p~n", [Text, T1 - T0]).
