#!/bin/sh
# bench/infer.sh times inference, train.Predict of one batch, next to
# PyTorch under torch.no_grad on this machine (bench/torch_infer.py), for
# the MNIST MLP and the Keras simple convnet at batch 1 and 64 and the
# char-GPT forward (128 positions) at batch 1 and 32, with 1 and 2 threads
# (GOMAXPROCS through -cpu; torch.set_num_threads), and prints the ratios
# PyTorch time / shoshin time (above 1: shoshin is faster), best of the
# runs. On a CPU with AVX-512 it runs everything again on the AVX2 path
# (GODEBUG=cpu.avx512f=off for Go; ATEN_CPU_CAPABILITY=avx2,
# OPENBLAS_CORETYPE=Haswell and DNNL_MAX_CPU_ISA=AVX2 for PyTorch).
#
#   sh bench/infer.sh              # a few minutes
#   AVX2=0 COUNT=5 sh bench/infer.sh
#
# bench/run.sh runs it as its inference section. Needs Go; the reference
# needs Debian's python3 with torch (skipped when missing). On a shared
# machine the timings are noisy: compare the ratios of one run.
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
COUNT=${COUNT:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

have_torch=0
if "$PY" -c 'import torch' 2>/dev/null; then have_torch=1; fi

# run_infer LABEL: the Go benchmark and the PyTorch reference, interleaved
# COUNT times, into $out/LABEL.go and $out/LABEL.torch.
run_infer() {
	: >"$out/$1.go"
	: >"$out/$1.torch"
	for i in $(seq "$COUNT"); do
		go test ./train -v -run '^$' -bench 'Infer/(mlp|convnet)/' -benchtime 200x -cpu 1,2 -count 1 >>"$out/$1.go"
		go test ./train -run '^$' -bench 'Infer/chargpt/' -benchtime 4x -cpu 1,2 -count 1 >>"$out/$1.go"
		if [ $have_torch = 1 ]; then
			for th in 1 2; do "$PY" bench/torch_infer.py $th >>"$out/$1.torch"; done
		fi
	done
	grep -h -m1 'GEMM kernel' "$out/$1.go" || true
	grep -h 'µs/batch' "$out/$1.go" || true
	cat "$out/$1.torch"
}

# report LABEL: best time per row and thread count, and the ratios.
report() {
	echo "## $1: ratios (PyTorch µs / shoshin µs per batch, best of $COUNT; >1: shoshin faster;"
	echo "## 1T: CPU time of the one thread, steady under load; 2T: wall time)"
	printf "%-14s %12s %12s %7s   %12s %12s %7s\n" row "shoshin 1T" "torch 1T" ratio "shoshin 2T" "torch 2T" ratio
	awk '
	FNR == NR {
		if ($1 !~ /^BenchmarkInfer\//) next
		name = $1; sub(/^BenchmarkInfer\//, "", name); th = 1
		if (match(name, /-[0-9]+$/)) { th = substr(name, RSTART + 1); name = substr(name, 1, RSTART - 1) }
		k = name SUBSEP th
		for (i = 2; i < NF; i++) {
			if ($(i+1) == "µs/batch" && (!(k in g) || $i < g[k])) g[k] = $i
			if ($(i+1) == "cpuµs/batch" && (!(k in gc) || $i < gc[k])) gc[k] = $i
		}
		rows[name] = 1
		next
	}
	/ infer / {
		name = $4; sub(/:$/, "", name)
		for (i = 5; i <= NF; i++) if ($i ~ /^threads=/) { th = $i; sub(/threads=/, "", th); sub(/,$/, "", th) }
		k = name SUBSEP th; if (!(k in t) || $5 < t[k]) t[k] = $5
		for (i = 6; i < NF; i++) if ($i == "cpu" && (!(k in tc) || $(i+1) < tc[k])) tc[k] = $(i+1)
	}
	END {
		for (n in rows) {
			line = sprintf("%-14s", n)
			for (th = 1; th <= 2; th++) {
				k = n SUBSEP th
				# One thread: CPU times when both are known.
				if (th == 1 && (k in gc) && (k in tc)) { g[k] = gc[k]; t[k] = tc[k] }
				gs = (k in g) ? sprintf("%10.1fµs", g[k]) : "-"
				ts = (k in t) ? sprintf("%10.1fµs", t[k]) : "-"
				r = ((k in g) && (k in t)) ? sprintf("%6.2f×", t[k] / g[k]) : "-"
				line = line sprintf(" %12s %12s %7s  ", gs, ts, r)
			}
			print line
		}
	}' "$out/$1.go" "$out/$1.torch" | sort
}

echo "# inference: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
[ $have_torch = 1 ] || echo "## PyTorch not found ($PY): Go figures only"
echo "## go test ./train -bench 'Infer' -cpu 1,2; $PY bench/torch_infer.py 1|2"
run_infer native
report native
if [ "${AVX2:-1}" = 1 ] && grep -q -w avx512f /proc/cpuinfo; then
	echo "## AVX2 path: GODEBUG=cpu.avx512f=off; torch with ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell DNNL_MAX_CPU_ISA=AVX2"
	GODEBUG=cpu.avx512f=off ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell DNNL_MAX_CPU_ISA=AVX2 run_infer avx2
	report avx2
fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
