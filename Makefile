# Vigil: build, run and test the otelcol-vigil collector distribution.
# Every target works from a fresh clone: pinned tools are installed into .tools/ when missing.

SHELL := bash
GO ?= go

OCB_VERSION := v0.165.0
STATICCHECK_VERSION := v0.8.2
# kustomize v5.7.1 builds with Go 1.26 (v5.8's api v0.21.3 needs a newer Go).
KUSTOMIZE_VERSION := v5.7.1

TOOLS := $(CURDIR)/.tools
OCB := $(TOOLS)/ocb-$(OCB_VERSION)/builder
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
KUSTOMIZE := $(TOOLS)/kustomize-$(KUSTOMIZE_VERSION)/kustomize
BINARY := _build/otelcol-vigil
CONFIG ?= otelcol-config.yaml

# Go files of the module (the generated _build/ and the tools folder are not ours).
GO_FILES := $(shell find . -name '*.go' -not -path './_build/*' -not -path './.tools/*')
# The binary depends only on non-test sources of the root module.
GO_SOURCES := $(filter-out ./testbed/% ./clients/% %_test.go,$(GO_FILES))
# Files embedded in the binary (the status page).
EMBEDDED := $(wildcard extension/statusextension/web/*)

.DEFAULT_GOAL := build
.PHONY: run build test bench bench-breaker-api bench-status-api lint testbed testbed-hostile perf-check clean audit-verify nab nab-check image testbed-fleet

## run: build, then start Vigil on the embedded default config (Ctrl-C stops it)
run: $(BINARY)
	VIGIL_HOST_NAME="$${VIGIL_HOST_NAME:-$$(uname -n)}" ./$(BINARY) --config $(CONFIG)

## build: generate and compile the distribution with ocb into _build/otelcol-vigil
build: $(BINARY)

$(BINARY): $(OCB) builder-config.yaml go.mod go.sum $(GO_SOURCES) $(EMBEDDED)
	$(OCB) --config=builder-config.yaml
	@touch $@

$(OCB):
	GOBIN=$(dir $@) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

$(KUSTOMIZE):
	GOBIN=$(dir $@) $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(STATICCHECK):
	GOBIN=$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## test: unit tests and the end-to-end test against the built binary, with the race detector
## (the e2e tests render the Kubernetes manifests with the pinned kustomize)
test: $(BINARY) $(KUSTOMIZE)
	$(GO) vet ./...
	VIGIL_KUSTOMIZE=$(KUSTOMIZE) $(GO) test -race -count=1 ./...
	cd clients/go/vigilbreaker && $(GO) vet ./... && VIGIL_BINARY=$(CURDIR)/$(BINARY) $(GO) test -race -count=1 ./...
	cd testbed/cmd/breakerscenario && $(GO) vet ./... && VIGIL_BINARY=$(CURDIR)/$(BINARY) $(GO) test -count=1 ./...
	cd $(PIPELINELOAD_DIR) && $(GO) vet . && VIGIL_BINARY=$(CURDIR)/$(BINARY) $(GO) test -count=1 .
	$(MAKE) --no-print-directory perf-check
	$(MAKE) --no-print-directory nab-check

## image: the container image otelcol-vigil:$(IMAGE_TAG) from deploy/Dockerfile (scratch base), with buildah
IMAGE_TAG ?= 0.1.0
image: $(BINARY)
	deploy/image/stage.sh _build/image $(BINARY)
	buildah bud -f deploy/Dockerfile -t otelcol-vigil:$(IMAGE_TAG) _build/image

## bench: every benchmark, with allocations
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	cd clients/go/vigilbreaker && $(GO) test -run='^$$' -bench=. -benchmem ./...

## bench-breaker-api: GET /v1/breakers/{target} latency on the built binary beside a trivial Go handler
bench-breaker-api: $(BINARY)
	$(GO) run ./testbed/cmd/breakerlatency -binary $(BINARY) -rate 1000 -duration 10s -rounds 2

## bench-status-api: GET /v1/status (one service, and 10,000 components) on the built binary beside /v1/breakers/{target} and a trivial Go handler
bench-status-api: $(BINARY)
	$(GO) run ./testbed/cmd/statuslatency -binary $(BINARY) -duration 10s -rounds 3

## lint: gofmt, go vet and staticcheck
lint: $(STATICCHECK)
	@unformatted="$$(gofmt -l $(GO_FILES))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	cd clients/go/vigilbreaker && $(GO) vet ./... && $(STATICCHECK) ./...
	cd testbed/cmd/breakerscenario && $(GO) vet ./... && $(STATICCHECK) ./...

# The pipeline cost instrument is its own module (it plots with gonum, which the collector does
# not need).
PIPELINELOAD_DIR := testbed/cmd/pipelineload
PIPELINELOAD := cd $(PIPELINELOAD_DIR) && $(GO) run . --binary $(CURDIR)/$(BINARY) --default-config $(CURDIR)/$(CONFIG)
# What perf-check holds the default config (D) to: CPU at idle in ms per second, and CPU per span
# against a pass-through (A). A and D run at the same time, each with its own load generator, so
# that the machine's other work weighs on both alike, and the check takes the median over 3
# rounds of D/A within a round and of D's idle CPU; the load is measured after 15 s of warm-up
# (D's heap grows for about that long: after 3 s, D/A read 1.6-1.9 where the steady state is
# 1.2-1.3). The idle goal is 2 ms/s, measured 1.0-1.8 a round (A: 0.7-1.6, as busy as the machine
# is); the short form fails past 3, which the code with the 1 ms clock ticker (25 ms/s) does, and
# so would a 100 ms ticker or memory_limiter checking every 200 ms. The D/A
# goal is 1.25, measured 1.18-1.26 a round: the short form fails past 1.45, which the code before
# the idle and per-span work (1.87) does.
PERF_MAX_D_OVER_A ?= 1.45
PERF_MAX_IDLE_MS ?= 3

## testbed: load runs against the built binary: pipelineload's A/B/C/D table and cardinality sweep in both load shapes with its plot (about 35 min), healthcheckload (about 90 s), then the breaker scenario (about 11 min) and the hostile suite (about 5 min)
testbed: $(BINARY)
	$(PIPELINELOAD) --rounds 3 --sweep 10,1000,10000 --sweep-shape sdk,agent --plot $(CURDIR)/pipelineload.png
	$(GO) run ./testbed/cmd/healthcheckload --binary $(BINARY)
	cd testbed/cmd/breakerscenario && $(GO) run . -binary $(CURDIR)/$(BINARY) -root $(CURDIR)
	$(MAKE) --no-print-directory testbed-hostile

## testbed-hostile: the hostile-input suite at full size on every shipped config (about 5 min):
## 100,000 names, 300 x 1 MiB names, control characters over gRPC and HTTP; RSS, page, scrape time;
## then a hung webhook beside a log action
testbed-hostile: $(BINARY)
	$(GO) run ./testbed/cmd/hostile --binary $(BINARY)

## perf-check: the short form of pipelineload (A and D side by side, 3 rounds, about 3 min), failing when D's idle CPU or D/A regresses (PERF_MAX_IDLE_MS, PERF_MAX_D_OVER_A)
perf-check: $(BINARY)
	$(PIPELINELOAD) --configs A,D --rounds 3 --together --settle 15s --idle 10s --warmup 15s --window 10s --api-rate 0 \
		--check --max-d-over-a $(PERF_MAX_D_OVER_A) --max-idle-ms $(PERF_MAX_IDLE_MS)

## testbed-fleet: the fleet measurements of docs/fleet.md (one gateway's cost per span, two gateways split), about 1 min
testbed-fleet: $(BINARY)
	VIGIL_FLEET_LOAD=1 $(GO) test -count=1 -v -run 'TestFleet' ./testbed/e2e/

## audit-verify: check a healing audit file's hash chain (FILE=path, default the one make run writes)
audit-verify:
	$(GO) run ./cmd/vigil-audit verify $(or $(FILE),.vigil-state/healing-audit.jsonl)

## clean: remove the build output (the pinned tools in .tools/ are kept)
clean:
	rm -rf _build

NAB_DIR ?= testbed/nab
NAB_OUT := .nab-out
NAB_THRESHOLD ?= 0.1

# Floors of the NAB standard score on testbed/nab: in sample (the shipped setting, measured 78.1),
# the mean of the leave-one-category-out held-out scores (measured 83.9), the mean of the
# leave-one-file-out ones (measured 78.7), the mean over the 16 perturbed copies of the data at
# the shipped threshold (nabrun --perturb, noisy rows averaged over 5 seeds, measured 63.5) and
# the mean over the 7 generated real-world kinds (nabrun --synthetic, 5 seeds, measured 70.8).
NAB_MIN ?= 77.5
NAB_CV_MIN ?= 83.0
NAB_LOFO_MIN ?= 78.0
NAB_ROBUST_MIN ?= 63.0
NAB_SYNTH_MIN ?= 70.0

## nab: stream the NAB subset (testbed/nab) through the anomaly detector; print the leave-one-category-out and leave-one-file-out cross-validation, the perturbation and synthetic tables, then score.py's in-sample scores (standard, low FP, low FN, shipped threshold)
nab:
	rm -rf $(NAB_OUT) && mkdir -p $(NAB_OUT)
	set -o pipefail; $(GO) run ./testbed/cmd/nabrun --data $(NAB_DIR)/data --out $(NAB_OUT) --threshold $(NAB_THRESHOLD) --cv --perturb --synthetic | tee $(NAB_OUT)/cv.txt
	set -o pipefail; python3 $(NAB_DIR)/score.py --data $(NAB_DIR)/data --results $(NAB_OUT) --threshold $(NAB_THRESHOLD) | tee $(NAB_OUT)/score.txt

## nab-check: make nab (about 30 s), failing if the in-sample, either cross-validated, the perturbed or the synthetic NAB standard score drops below its floor
nab-check:
	@$(MAKE) --no-print-directory nab >/dev/null && \
	score=$$(sed -n 's/^NAB standard=\([0-9.]*\).*/\1/p' $(NAB_OUT)/score.txt) && \
	cv=$$(sed -n 's/^NAB cross-validated mean standard=\([0-9.]*\).*/\1/p' $(NAB_OUT)/cv.txt) && \
	lofo=$$(sed -n 's/^NAB cross-validated.*leave-one-file-out mean standard=\([0-9.]*\).*/\1/p' $(NAB_OUT)/cv.txt) && \
	rb=$$(sed -n 's/^NAB robustness mean standard=\([0-9.]*\).*/\1/p' $(NAB_OUT)/cv.txt) && \
	syn=$$(sed -n 's/^NAB synthetic mean standard=\([0-9.]*\).*/\1/p' $(NAB_OUT)/cv.txt) && \
	echo "nab-check: NAB standard in sample $$score (minimum $(NAB_MIN)), cross-validated mean $$cv (minimum $(NAB_CV_MIN)), leave-one-file-out mean $$lofo (minimum $(NAB_LOFO_MIN)), perturbed mean $$rb (minimum $(NAB_ROBUST_MIN)), synthetic mean $$syn (minimum $(NAB_SYNTH_MIN))" && \
	python3 -c "import sys; sys.exit(0 if float('$$score') >= $(NAB_MIN) and float('$$cv') >= $(NAB_CV_MIN) and float('$$lofo') >= $(NAB_LOFO_MIN) and float('$$rb') >= $(NAB_ROBUST_MIN) and float('$$syn') >= $(NAB_SYNTH_MIN) else 1)"
