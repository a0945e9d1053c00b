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

# Convolution: the Keras convnet's training step (BenchmarkCNNStep) on both
# kernel paths (AVX2 forced with GODEBUG where the CPU has AVX-512, and
# PyTorch held to AVX2 likewise), one and two threads, against PyTorch in
# the same run. One thread is compared on process CPU time (cpuµs/step),
# steady on a shared machine; two threads on wall time.
has512=0
grep -qw avx512f /proc/cpuinfo && has512=1
for path in avx512 avx2; do
	if [ $path = avx512 ] && [ $has512 = 0 ]; then continue; fi
	dbg=${GODEBUG:-}
	if [ $path = avx2 ] && [ $has512 = 1 ]; then dbg=${dbg:+$dbg,}cpu.avx512f=off; fi
	# One -cpu value per invocation: with -cpu 1,2 and -benchtime 1x, Go's
	# testing reports its first probe run (made under the process's own
	# GOMAXPROCS) as the one-processor result.
	echo "## convnet step, $path path: GODEBUG=$dbg go test ./train -bench 'CNNStep\$' -benchtime 1x -count 2, with -cpu 1, then -cpu 2"
	: > "$out/conv.txt"
	for cpus in 1 2; do
		GODEBUG=$dbg go test ./train -run '^$' -bench 'CNNStep$' -benchtime 1x -cpu $cpus -count 2 -benchmem >> "$out/conv.txt"
	done
	grep '^Benchmark' "$out/conv.txt"
	[ $have_torch = 1 ] || continue
	: > "$out/tconv.txt"
	for th in 1 2; do
		if [ $path = avx2 ] && [ $has512 = 1 ]; then
			ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell "$PY" bench/torch_cnnstep.py $th
		else
			"$PY" bench/torch_cnnstep.py $th
		fi | tee -a "$out/tconv.txt"
	done
	echo "## convnet step ratios, $path path (PyTorch / shoshin per step, best of the runs; 1 thread on CPU time, 2 threads on wall time)"
	awk '
	FNR == NR {
		if ($1 !~ /^BenchmarkCNNStep/) next
		t = ($1 ~ /-2$/) ? 2 : 1
		for (i = 1; i < NF; i++) {
			if ($(i+1) == "µs/step" && (wall[t] == "" || $i < wall[t])) wall[t] = $i
			if ($(i+1) == "cpuµs/step" && (cpu[t] == "" || $i < cpu[t])) cpu[t] = $i
		}
		next
	}
	/ cnnstep:/ {
		split($6, tt, "="); t = tt[2]
		if (twall[t] == "" || $4 < twall[t]) twall[t] = $4
		if (tcpu[t] == "" || $8 < tcpu[t]) tcpu[t] = $8
	}
	END {
		if (cpu[1] != "" && tcpu[1] != "") printf "1 thread (CPU):   shoshin %.0f us/step, torch %.0f us/step, ratio %.2f\n", cpu[1], tcpu[1], tcpu[1] / cpu[1]
		if (wall[2] != "" && twall[2] != "") printf "2 threads (wall): shoshin %.0f us/step, torch %.0f us/step, ratio %.2f\n", wall[2], twall[2], twall[2] / wall[2]
	}' "$out/conv.txt" "$out/tconv.txt"
done

# GEMM: both kernel paths (AVX-512, and AVX2 forced with GODEBUG, which
# golang.org/x/sys/cpu honours), one and two threads, against OpenBLAS in
# the same run. One thread is compared on thread CPU time (cpuGFLOP/s),
# which stays steady on a shared machine; two threads on wall time. The
# AVX2 path is compared with OpenBLAS's Haswell (AVX2) kernels where the
# CPU has AVX-512, as an AVX2-only machine would run them.
have_np=0
if "$PY" -c 'import numpy' 2>/dev/null; then have_np=1; fi
for path in avx512 avx2; do
	if [ $path = avx512 ] && [ $has512 = 0 ]; then continue; fi
	dbg=${GODEBUG:-}
	core=
	if [ $path = avx2 ] && [ $has512 = 1 ]; then
		dbg=${dbg:+$dbg,}cpu.avx512f=off
		core=Haswell
	fi
	# One -cpu value per invocation (see the convnet section above).
	echo "## GEMM, $path path: cd internal/kernel && GODEBUG=$dbg go test -bench 'MatMul\$' -count 3 -benchtime 0.3s, with -cpu 1, then -cpu 2"
	: > "$out/gemm.txt"
	for cpus in 1 2; do
		(cd internal/kernel && GODEBUG=$dbg go test -v -run '^$' -bench 'MatMul$' -cpu $cpus -count 3 -benchtime 0.3s) >> "$out/gemm.txt"
	done
	grep -m1 -o 'GEMM kernel .*' "$out/gemm.txt" || true
	if [ $have_np = 0 ]; then
		grep '^Benchmark' "$out/gemm.txt"
		echo "## numpy not found: skipping the OpenBLAS reference"
		continue
	fi
	echo "## OpenBLAS (numpy), 1 and 2 threads${core:+, OPENBLAS_CORETYPE=$core}"
	if [ -n "$core" ]; then
		env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=$core "$PY" internal/kernel/testdata/bench_openblas.py > "$out/blas.txt" 2>&1 || true
	else
		env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" internal/kernel/testdata/bench_openblas.py > "$out/blas.txt" 2>&1 || true
	fi
	grep '^#' "$out/blas.txt" || true
	echo "## ratios, $path path (shoshin / OpenBLAS GFLOP/s, best of the runs; 1 thread on CPU time, 2 threads on wall time)"
	printf "%-16s %9s %9s %6s   %9s %9s %6s\n" shape "1t ours" OpenBLAS ratio "2t ours" OpenBLAS ratio
	awk '
	FNR == NR {
		if ($1 !~ /^BenchmarkMatMul\//) next
		name = $1; sub(/^BenchmarkMatMul\//, "", name)
		t = 1
		if (match(name, /-[0-9]+$/)) { t = substr(name, RSTART + 1); name = substr(name, 1, RSTART - 1) }
		for (i = 1; i < NF; i++) {
			if ($(i+1) == "GFLOP/s" && $i > wall[t, name]) wall[t, name] = $i
			if ($(i+1) == "cpuGFLOP/s" && $i > cpu[t, name]) cpu[t, name] = $i
		}
		names[name] = 1
		next
	}
	/^openblas/ {
		split($2, tt, "="); t = tt[2]; name = $3
		if ($4 > bwall[t, name]) bwall[t, name] = $4
		if ($7 == "cpuGFLOP/s" && $6 > bcpu[t, name]) bcpu[t, name] = $6
	}
	END {
		for (n in names) {
			o1 = cpu[1, n]; b1 = bcpu[1, n]
			if (o1 == "" || b1 == "") { o1 = wall[1, n]; b1 = bwall[1, n] }
			o2 = wall[2, n]; b2 = bwall[2, n]
			r1 = (b1 > 0) ? sprintf("%.2f", o1 / b1) : "-"
			r2 = (b2 > 0) ? sprintf("%.2f", o2 / b2) : "-"
			printf "%-16s %9.2f %9.2f %6s   %9.2f %9.2f %6s\n", n, o1, b1, r1, o2, b2, r2
		}
	}' "$out/gemm.txt" "$out/blas.txt" | sort
done

# Inference: Predict against PyTorch under no_grad (bench/infer.sh; its
# own section, also runnable alone).
sh bench/infer.sh
