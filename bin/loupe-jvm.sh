# Sourced by bin/loupe and bin/loupe-spark: the JVM flags Loupe needs, in the array loupe_jvm_flags.
# Set root and tornado_flags (an array, possibly empty) before sourcing.
# Memory: the weights are memory-mapped, so the heap holds only activations, caches and the vocabulary.
# The serial collector with a small young generation keeps it small (G1 grew its young generation to
# ~0.5 GB of garbage during bench); trimming the native heap gives the JIT compilers' arenas back before
# the weights are all touched. Peak RSS of bench on the 2B shape: 5.92 GiB (G1) -> 5.15 GiB, 1.04x
# llama.cpp's (BENCHMARKS.md). LOUPE_GC_OPTS replaces these flags (e.g. LOUPE_GC_OPTS=-XX:+UseG1GC).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
# TornadoVM's argument file picks its own collector; two collectors would stop the JVM.
default_gc="-XX:+UseSerialGC -Xms64m -Xmn32m -XX:TrimNativeHeapInterval=300"
[[ ${#tornado_flags[@]} -eq 0 ]] || default_gc=""
gc_opts="${LOUPE_GC_OPTS-$default_gc}"
# The flags the Vector API, foreign memory and Arrow need are in bin/jvm.args. LOUPE_JAVA_OPTS goes after these.
# shellcheck disable=SC2206
loupe_jvm_flags=("${tornado_flags[@]}" @"$root/bin/jvm.args" $gc_opts)
