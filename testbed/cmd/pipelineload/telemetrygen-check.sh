#!/usr/bin/env bash
# telemetrygen-check.sh: D/A with telemetrygen as the load instead of pipelineload's own
# generator, a cross-check that the figure does not depend on how the spans are made.
#
#   go run . --configs A,D --rounds 1 --warmup 2s --window 3s --idle 1s --api-rate 0 --keep DIR
#   ./telemetrygen-check.sh BINARY TELEMETRYGEN DIR [ROUNDS] [together]
#
# The first command writes the A and D configs (every port a free one on 127.0.0.1) into DIR.
# A round runs A, then D (or, with "together", both at once, so that the machine's other work
# weighs on them alike). Each collector gets four telemetrygen processes (services checkout,
# cart, payment, shipping; a trace is a span and one child) for 45 s: 2,700 spans/s each alone,
# 1,300 together. CPU (utime + stime) and the receiver's accepted spans are read over the 30 s
# after the first 10. The script stops only the processes it started, by PID.
set -euo pipefail

binary=$1 tg=$2 dir=$3 rounds=${4:-3} mode=${5:-alone}
tick=$(getconf CLK_TCK)
rate=2700
[[ $mode == together ]] && rate=1300

# grpc_port FILE: the OTLP gRPC receiver's port; tel_port FILE: the collector's telemetry port.
grpc_port() { awk '/^receivers:/ {r=1} r && /^    otlp:/ {o=1} o && /grpc:/ {g=1} g && /endpoint:/ {sub(/.*:/, ""); print; exit}' "$1"; }
tel_port() { awk '/port:/ {p=$2} END {print p}' "$1"; }
accepted() { curl -s "localhost:$1/metrics" | awk '/^otelcol_receiver_accepted_spans/ {s += $2} END {print s + 0}'; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure NAME...: starts the named configs' collectors and generators at once, and prints
# "NAME CPU-s/1M" for each.
measure() {
	local names=("$@") pids=() gps=() tps=() gens=() a0=() c0=() i cfg
	for i in "${!names[@]}"; do
		cfg=$(ls "$dir/${names[$i]}"--*.yaml | head -1)
		gps[$i]=$(grpc_port "$cfg") tps[$i]=$(tel_port "$cfg")
		VIGIL_STATE_DIR="$dir/${names[$i]}-state" "$binary" --config="$cfg" >"$dir/${names[$i]}-telemetrygen.log" 2>&1 &
		pids[$i]=$!
	done
	sleep 8
	for i in "${!names[@]}"; do
		for s in checkout cart payment shipping; do
			"$tg" traces --otlp-insecure --otlp-endpoint "127.0.0.1:${gps[$i]}" --service "$s" \
				--rate "$rate" --child-spans 1 --duration 45s >/dev/null 2>&1 &
			gens+=($!)
		done
	done
	sleep 10
	for i in "${!names[@]}"; do a0[$i]=$(accepted "${tps[$i]}") c0[$i]=$(cpu "${pids[$i]}"); done
	sleep 30
	for i in "${!names[@]}"; do
		awk -v a0="${a0[$i]}" -v a1="$(accepted "${tps[$i]}")" -v c0="${c0[$i]}" -v c1="$(cpu "${pids[$i]}")" \
			-v t="$tick" -v n="${names[$i]}" 'BEGIN {s = a1 - a0; printf "%s %.0f spans/s %.3f\n", n, s / 30, (c1 - c0) / t / s * 1e6}'
	done
	wait "${gens[@]}" || true
	for p in "${pids[@]}"; do
		kill "$p"
		wait "$p" 2>/dev/null || true
	done
}

for ((r = 1; r <= rounds; r++)); do
	if [[ $mode == together ]]; then
		out=$(measure A D)
	else
		out=$(measure A; measure D)
	fi
	echo "$out" | awk -v r="$r" '{c[$1] = $4; line = line sprintf("%s %s spans/s %s CPU-s/1M; ", $1, $2, $4)}
		END {printf "round %d: %sD/A %.2f\n", r, line, c["D"] / c["A"]}'
done
