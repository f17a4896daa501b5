# Thin conveniences over the CMake presets and scripts/. The README's two commands are
# `bash scripts/run.sh` and `bash scripts/test.sh`, which need nothing but bash; these targets
# are the same for people who have make.
.PHONY: run test deps build package debug asan fuzz clang aarch64 bench format clean

run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
deps:
	bash scripts/install-deps.sh
build: deps
	cmake --preset release && cmake --build --preset release
# The .deb (packaging/CMakeLists.txt; docs/deployment.md): build/release/package/kestrel_*.deb
package: build
	cd build/release && cpack -G DEB
debug: deps
	cmake --preset debug && cmake --build --preset debug && ctest --preset debug -j$$(nproc)
asan: deps
	cmake --preset asan && cmake --build --preset asan && ctest --preset asan -j$$(nproc)
fuzz: deps
	cmake --preset fuzz && cmake --build --preset fuzz
clang: deps
	cmake --preset clang && cmake --build --preset clang
aarch64: build
	bash scripts/install-deps.sh --cross aarch64
	cmake --preset aarch64 && cmake --build --preset aarch64 && ctest --preset aarch64 -j$$(nproc)
bench: build
	./build/release/bench/ndjson_decode_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i
clean:
	rm -rf build
