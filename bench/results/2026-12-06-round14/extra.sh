#!/bin/bash
J=/tmp/r14/bench/target/benchmarks.jar; OUT=data
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { name=$1; shift; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | X $*" >> $OUT/commands.txt; $XA $J "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; }
run sweep-t1 'BufferPoolBench\.slab4j$' -p size=64,128,256,512,1024,2048,4096 -f 2 -wi 3 -w 1s -i 3 -r 1s -t 1
run floor 'BufferPoolBench\.(floorHandle|slab4j|nettyAdaptive|unsafeMalloc)$' -p size=64,4096 -f 1 -wi 3 -w 1s -i 3 -r 1s -t 1
run all-t1 'BufferPoolBench\.(slab4j|slab4jByteBuffer|floorHandle|nettyAdaptive|nettyPooled|byteBufferAllocateDirect|unsafeMalloc)$' -f 1 -wi 3 -w 1s -i 3 -r 1s -t 1 -prof gc
run sweep-t2 'BufferPoolBench\.slab4j$' -p size=64,128,256,512,1024,2048,4096 -f 2 -wi 3 -w 1s -i 3 -r 1s -t 2
echo "$(date -u +%H:%M:%S) EXTRADONE" >> $OUT/commands.txt
