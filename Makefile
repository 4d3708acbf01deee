# The README's entry points. Each target installs what is missing, configures
# and builds with CMake, then does its job.
#   make demo   train the paper's network on Fashion-MNIST (examples/fashion_mnist_relu.spn)
#   make test   every test suite, then the same suites under ASan + UBSan
#   make data   Fashion-MNIST and MNIST-10k into data/ (scripts/get-data.sh)
#   make data-text  Debian's package descriptions as libsvm files into data/debian-text/
#               (scripts/get-text-data.sh, docs/text-data.md)
#   make reproduce        the paper's experiments, 3 seeds a row -> docs/results.md (hours;
#                         resumable: stopped and started again, it goes on; TABLES="text sweep"
#                         runs some tables only: fashion mnist10k text recon sweep speed)
#   make reproduce-quick  the same, cut short (also: make reproduce QUICK=1), under 20 minutes
#   make bench  sparse path vs dense path vs PyTorch, timed (bench/README.md);
#               make bench QUICK=1: a short check of a change, under 2 minutes
#   make install PREFIX=P  sparsec, its runtime, headers, pkg-config files, man
#               pages, examples and docs under P (default /usr/local; README.md)
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# experiments that make reproduce runs at once, one core each
REPRODUCE_JOBS ?= 2
PREFIX ?= /usr/local

.PHONY: all deps build install demo test test-fast test-asan clean data data-text reproduce reproduce-quick bench

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

demo: build
	./$(BUILD)/sparsec run examples/fashion_mnist_relu.spn

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DSPARSEC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

test: test-fast test-asan

data: deps
	BUILD=$(BUILD) ./scripts/get-data.sh

data-text: deps
	./scripts/get-text-data.sh

reproduce: build data data-text
	BUILD=$(BUILD) JOBS=$(REPRODUCE_JOBS) ./scripts/reproduce.sh $(if $(QUICK),--quick) \
	  $(foreach t,$(TABLES),--table $(t))

reproduce-quick: build data data-text
	BUILD=$(BUILD) JOBS=$(REPRODUCE_JOBS) ./scripts/reproduce.sh --quick $(foreach t,$(TABLES),--table $(t))

bench: build
	BUILD=$(abspath $(BUILD)) ./bench/run.sh $(if $(QUICK),--quick)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
