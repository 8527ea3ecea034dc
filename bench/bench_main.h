// main() of the benchmark programs that have no options of their own: the smoothlab program's allocator setting
// (core/allocator.h), then Google Benchmark's usual steps.
#pragma once

#include <benchmark/benchmark.h>

#include "smoothlab/core/allocator.h"

#define SMOOTHLAB_BENCHMARK_MAIN()                            \
  int main(int argc, char** argv) {                           \
    smoothlab::keep_freed_memory();                           \
    ::benchmark::Initialize(&argc, argv);                     \
    if (::benchmark::ReportUnrecognizedArguments(argc, argv)) \
      return 1;                                               \
    ::benchmark::RunSpecifiedBenchmarks();                    \
    ::benchmark::Shutdown();                                  \
    return 0;                                                 \
  }
