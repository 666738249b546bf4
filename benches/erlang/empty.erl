%% Start-up: does nothing. Its time_us is ~0 (BEAM boot is outside the
%% timed region); the comparison uses whole-process wall time for this one.
-module(empty).
-export([main/1]).

main(_Args) -> bench:run(fun() -> ok end).
