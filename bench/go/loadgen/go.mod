module wisdom/bench/loadgen

go 1.19
