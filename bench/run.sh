#!/bin/sh
# bench/run.sh runs shoshin's training and GEMM benchmarks next to the
# PyTorch and OpenBLAS references on this machine and prints the ratios
# (reference time / our time for training: above 1 means we are faster;
# our GFLOP/s / OpenBLAS GFLOP/s for GEMM).
#
#   sh bench/run.sh            # MLP epoch, CNN steps, GEMM (a few minutes)
#   FULL=1 sh bench/run.sh     # also the LeNet-style CNN epoch (long)
#
# It ends with the inference comparison of bench/infer.sh.
#
# Needs Go; the references need Debian's python3 with torch and numpy
# (they are skipped when missing). Run it on an idle machine: on a shared
# one the timings are noisy, bytes and allocations per step are not.
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "# CPU features: $(grep -m1 -o -w -E 'avx512f|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "# go: $(go version | cut -d' ' -f3-)"

benches='EpochMLP$|CNNStep$'
[ "${FULL:-0}" = 1 ] && benches='EpochMLP$|CNNStep$|EpochCNN$'
echo "## go test ./train -bench '$benches' -benchtime 1x -count 3 -benchmem"
go test ./train -run '^$' -bench "$benches" -benchtime 1x -count 3 -benchmem | tee "$out/train.txt" | grep '^Benchmark'

have_torch=0
if "$PY" -c 'import torch' 2>/dev/null; then have_torch=1; fi
if [ $have_torch = 1 ]; then
	echo "## PyTorch references (2 threads)"
	mode=mlp
	[ "${FULL:-0}" = 1 ] && mode=both
	"$PY" train/testdata/torch_epoch.py $mode | tee "$out/torch.txt"
	"$PY" bench/torch_cnnstep.py 2 | tee -a "$out/torch.txt"
	echo "## ratios (PyTorch time / shoshin time; best of the runs)"
	awk '
	FNR == NR {
		if ($1 ~ /^BenchmarkEpochMLP/) for (i = 1; i < NF; i++) if ($(i+1) == "s/epoch" && (mlp == "" || $i < mlp)) mlp = $i
		if ($1 ~ /^BenchmarkEpochCNN/) for (i = 1; i < NF; i++) if ($(i+1) == "s/epoch" && (cnn == "" || $i < cnn)) cnn = $i
		if ($1 ~ /^BenchmarkCNNStep/) for (i = 1; i < NF; i++) if ($(i+1) == "µs/step" && (step == "" || $i < step)) step = $i
		next
	}
	/ mlp:/ { tm = $4 }
	/ cnn:/ { tc = $4 }
	/ cnnstep:/ { ts = $4 }
	END {
		if (mlp != "" && tm != "") printf "MLP epoch:        shoshin %.3f s, torch %.3f s, ratio %.2f\n", mlp, tm, tm / mlp
		if (cnn != "" && tc != "") printf "LeNet CNN epoch:  shoshin %.3f s, torch %.3f s, ratio %.2f\n", cnn, tc, tc / cnn
		if (step != "" && ts != "") printf "Keras convnet:    shoshin %.0f us/step, torch %.0f us/step, ratio %.2f\n", step, ts, ts / step
	}' "$out/train.txt" "$out/torch.txt"
else
	echo "## PyTorch not found ($PY): skipping the training references"
fi

echo "## cd internal/kernel && go test -bench 'MatMul\$' -cpu 1 -count 3"
(cd internal/kernel && go test -run '^$' -bench 'MatMul$' -cpu 1 -count 3) | tee "$out/gemm.txt" | grep '^Benchmark'
if "$PY" -c 'import numpy' 2>/dev/null; then
	echo "## OpenBLAS (numpy) reference, 1 thread"
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 "$PY" internal/kernel/testdata/bench_openblas.py 2>&1 | grep 'threads=1' | tee "$out/blas.txt" || true
	echo "## ratios (shoshin GFLOP/s / OpenBLAS GFLOP/s, best of the runs)"
	awk '
	FNR == NR {
		split($1, p, "/"); name = p[2]; sub(/-[0-9]+$/, "", name)
		for (i = 1; i < NF; i++) if ($(i+1) == "GFLOP/s" && $i > go[name]) go[name] = $i
		next
	}
	{ name = $3; if ($4 > blas[name]) blas[name] = $4 }
	END { for (n in go) if (n in blas) printf "%-16s shoshin %7.2f  OpenBLAS %7.2f  ratio %.2f\n", n, go[n], blas[n], go[n] / blas[n] }
	' "$out/gemm.txt" "$out/blas.txt" | sort
else
	echo "## numpy not found: skipping the OpenBLAS reference"
fi

# Inference: Predict against PyTorch under no_grad (bench/infer.sh; its
# own section, also runnable alone).
sh bench/infer.sh
