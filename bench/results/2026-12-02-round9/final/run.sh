#!/bin/bash
# usage: run.sh JAR OUTDIR OLDJAR
# Round 9, the session's head: JAR is the clean-clone jar of the head (bash .ci/run), OLDJAR the
# previous head's (adac4b3). BufferPool against every peer at one and two threads, its p99.9
# tail, the adapter, and old/new alternating for the countdown sampler at two threads.
J=$1; OUT=$2; OLD=$3; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { jar=$1; name=$2; shift 2; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | $jar | X $*" >> $OUT/commands.txt; $XA $jar "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name done" >> $OUT/commands.txt; }
C3="-f 1 -wi 3 -w 1s -i 3 -r 1s"
F3="-f 3 -wi 3 -w 1s -i 3 -r 1s"
F4="-f 4 -wi 3 -w 1s -i 3 -r 1s"
run $J buffer-t2 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' $F4 -t 2
run $J buffer-sample 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' -p size=4096,65536 -bm sample -tu ns -f 4 -wi 3 -w 1s -i 5 -r 1s -t 1
run $J buffer-t1 'BufferPoolBench\.(slab4j|slab4jByteBuffer|floorHandle|nettyAdaptive|nettyPooled|byteBufferAllocateDirect|unsafeMalloc)$' $C3 -t 1 -prof gc
for k in 1 2; do
  run $OLD pair-t2-old-$k 'BufferPoolBench\.slab4j$' -p size=64,4096 $F4 -t 2
  run $J   pair-t2-new-$k 'BufferPoolBench\.slab4j$' -p size=64,4096 $F4 -t 2
done
run $J netty-t1 'NettyAllocatorBench\.allocateRelease$' $C3 -t 1 -prof gc
run $J netty-t2 'NettyAllocatorBench\.allocateRelease$' -p allocator=slab4j,nettyAdaptive $F3 -t 2
echo ALLDONE >> $OUT/commands.txt
