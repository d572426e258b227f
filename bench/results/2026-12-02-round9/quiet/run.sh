#!/bin/bash
# usage: run.sh JAR OUTDIR
# Round 9: issue 9's goals on a machine just booted (1-minute load 0.2 before the run):
# every BufferPoolBench peer at one thread with -prof gc, slab4j and the Netty peers at two
# threads with three forks, and the p99.9 tail with four forks.
J=$1; OUT=$2; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { name=$1; shift; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | X $*" >> $OUT/commands.txt; $XA $J "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name done" >> $OUT/commands.txt; }
C3="-f 1 -wi 3 -w 1s -i 3 -r 1s"
F3="-f 3 -wi 3 -w 1s -i 3 -r 1s"
run buffer-t2 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' $F3 -t 2
run buffer-sample 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' -p size=4096,65536 -bm sample -tu ns -f 4 -wi 3 -w 1s -i 5 -r 1s -t 1
run buffer-t1 'BufferPoolBench\.(slab4j|slab4jByteBuffer|floorHandle|nettyAdaptive|nettyPooled|byteBufferAllocateDirect|unsafeMalloc)$' $C3 -t 1 -prof gc
echo ALLDONE >> $OUT/commands.txt
