#!/bin/bash
# usage: run.sh JAR OUTDIR
# Round 11: the head (exact class table, hot-slot poll by exchange)'s clean-clone jar; BufferPool against the Netty peers at one and two
# threads with four forks, the floor and the other peers at one thread, and the p99.9 tail.
J=$1; OUT=$2; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { jar=$1; name=$2; shift 2; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | $jar | X $*" >> $OUT/commands.txt; $XA $jar "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name done" >> $OUT/commands.txt; }
C3="-f 1 -wi 3 -w 1s -i 3 -r 1s"
F2="-f 2 -wi 3 -w 1s -i 3 -r 1s"
F4="-f 4 -wi 3 -w 1s -i 3 -r 1s"
run $J buffer-t1 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' $F4 -t 1
run $J buffer-t2 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' $F4 -t 2
run $J buffer-t1-all 'BufferPoolBench\.(slab4j|slab4jByteBuffer|floorHandle|nettyAdaptive|nettyPooled|byteBufferAllocateDirect|unsafeMalloc)$' $C3 -t 1 -prof gc
run $J buffer-sample 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' -p size=4096,65536 -bm sample -tu ns -f 2 -wi 3 -w 1s -i 5 -r 1s -t 1
echo ALLDONE >> $OUT/commands.txt
