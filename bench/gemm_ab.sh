#!/bin/sh
# bench/gemm_ab.sh compares this tree's GEMM with an older build and with
# OpenBLAS in interleaved rounds (old, new, OpenBLAS, old, new, ...) and
# prints the best GFLOP/s of each per shape and the ratios to OpenBLAS.
# On a shared machine the best of many short interleaved runs is steadier
# than one long run of each: load that comes and goes hits all three.
#
#   git worktree add /tmp/old <commit> && (cd /tmp/old && go test -c -o /tmp/gemm_old.test ./internal/kernel)
#   sh bench/gemm_ab.sh -p avx2 -t 1 -r 10 /tmp/gemm_old.test
#
# -p avx512|avx2  kernel path (avx2 forces GODEBUG=cpu.avx512f=off and
#                 OpenBLAS's Haswell kernels; default avx512)
# -t 1|2          threads: 1 compares thread CPU time (cpuGFLOP/s), 2 wall
#                 time (GFLOP/s); default 1
# -r N            rounds (default 6)
# -s a,b,...      shapes of BenchmarkMatMul (default: the N >= 512 and MLP ones)
# Without an old binary only the new one and OpenBLAS run.
#
# Each run passes a single -test.cpu value: with a list (-cpu 1,2) Go runs
# every sub-benchmark of BenchmarkMatMul at the last GOMAXPROCS of the
# list, so the "1 thread" rows would run on two workers (and report no
# cpuGFLOP/s).
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
path=avx512 th=1 rounds=6
shapes=512x512x512,512TN,512NT,512TT,1024x1024x1024,1024TN,1024NT,1024TT,64x784x128,784x64x128,64x128x784,64x784x128T,128x64x784TA
while getopts p:t:r:s: o; do
	case $o in
	p) path=$OPTARG ;;
	t) th=$OPTARG ;;
	r) rounds=$OPTARG ;;
	s) shapes=$OPTARG ;;
	*) sed -n '2,25p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
old=${1:-}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go test -c -o "$out/new.test" ./internal/kernel
dbg=${GODEBUG:-}
core=
if [ "$path" = avx2 ]; then
	dbg=${dbg:+$dbg,}cpu.avx512f=off
	core=Haswell
fi
metric=cpuGFLOP/s
[ "$th" = 1 ] || metric=GFLOP/s
re="MatMul\$/($(echo "$shapes" | tr ',' '|'))\$"
echo "# $path path, $th thread(s), $rounds rounds; $(uptime | sed 's/.*load/load/')"
for r in $(seq "$rounds"); do
	for bin in ${old:+old} new; do
		b=$out/new.test
		[ $bin = old ] && b=$old
		(cd internal/kernel && GODEBUG=$dbg "$b" -test.run '^$' -test.bench "$re" -test.cpu "$th" -test.benchtime 0.15s) 2>&1 |
			awk -v c=$bin -v m=$metric '/^BenchmarkMatMul\//{n=$1; sub(/^BenchmarkMatMul\//,"",n); sub(/-[0-9]+$/,"",n); for(i=1;i<NF;i++) if ($(i+1)==m) print c, n, $i}'
	done
	if "$PY" -c 'import numpy' 2>/dev/null; then
		if [ -n "$core" ]; then
			env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=$core "$PY" internal/kernel/testdata/bench_openblas.py --threads "$th" --shapes "$shapes"
		else
			env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" internal/kernel/testdata/bench_openblas.py --threads "$th" --shapes "$shapes"
		fi | awk -v t="$th" '/^openblas/{print "blas", $3, (t == 1) ? $6 : $4}'
	fi
done > "$out/all.txt"
echo "# after: $(uptime | sed 's/.*load/load/')"
printf "%-16s %8s %8s %8s %7s %7s\n" shape old new OpenBLAS old/OB new/OB
awk '{k = $1 " " $2; if ($3 + 0 > b[k]) b[k] = $3 + 0; s[$2] = 1}
END {
	for (n in s) {
		ob = b["blas " n]
		ro = "-"
		rn = "-"
		if (ob > 0 && b["old " n] > 0) ro = sprintf("%.2f", b["old " n] / ob)
		if (ob > 0) rn = sprintf("%.2f", b["new " n] / ob)
		printf "%-16s %8.1f %8.1f %8.1f %7s %7s\n", n, b["old " n], b["new " n], ob, ro, rn
	}
}' "$out/all.txt" | sort
