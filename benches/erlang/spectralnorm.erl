%% spectral-norm (the Computer Language Benchmarks Game): the spectral norm
%% of the infinite matrix A(i,j) = 1/((i+j)(i+j+1)/2+i+1), truncated to
%% N x N, by 10 steps of the power method; prints it with 9 decimals.
%% Same algorithm and output as benches/lua/spectralnorm.lua.
%%
%% Vectors are lists of floats; A times a vector is a list comprehension
%% over the rows, each a tail-recursive sum over the vector.
-module(spectralnorm).
-export([main/1]).

main(Args) ->
    N = bench:arg(Args),
    bench:run_text(fun() -> run(N) end).

run(N) ->
    {U, V} = power(10, lists:duplicate(N, 1.0), none),
    VBv = dot(U, V),
    VV = dot(V, V),
    io_lib:format("~.9f~n", [math:sqrt(VBv / VV)]).

%% 10 times: V = AtA U, U = AtA V.
power(0, U, V) -> {U, V};
power(K, U, _) ->
    V = mul_atav(U),
    power(K - 1, mul_atav(V), V).

dot(A, B) -> dot(A, B, 0.0).
dot([X | A], [Y | B], S) -> dot(A, B, S + X * Y);
dot([], [], S) -> S.

a(I, J) -> 1.0 / ((I + J) * (I + J + 1) div 2 + I + 1).

mul_atav(U) -> mul_atv(mul_av(U)).

%% (A U)_i = sum over j of A(i,j) U_j.
mul_av(U) ->
    [av_row(I, U, 0, 0.0) || I <- lists:seq(0, length(U) - 1)].

av_row(_I, [], _J, S) -> S;
av_row(I, [X | U], J, S) -> av_row(I, U, J + 1, S + a(I, J) * X).

%% (At U)_i = sum over j of A(j,i) U_j.
mul_atv(U) ->
    [atv_row(I, U, 0, 0.0) || I <- lists:seq(0, length(U) - 1)].

atv_row(_I, [], _J, S) -> S;
atv_row(I, [X | U], J, S) -> atv_row(I, U, J + 1, S + a(J, I) * X).
