#!/bin/bash
# usage: rerun.sh JAR OUTDIR -- the BufferPool rows again on the jar of the final code
# (after run.sh: SAMPLED leak detection went from 1 in 4096 to 1 in 16384).
J=$1; OUT=$2; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { jar=$1; name=$2; shift 2; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | $(basename $(dirname $(dirname $(dirname $jar)))) | X $*" >> $OUT/commands.txt; $XA $jar "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name done" >> $OUT/commands.txt; }
C3="-f 1 -wi 3 -w 1s -i 3 -r 1s"
run $J final-buffer-t1 'BufferPoolBench\.(slab4j|floorHandle|nettyAdaptive|nettyPooled)$' $C3 -t 1 -prof gc
run $J final-buffer-sample-1 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' -p size=4096,65536 -bm sample -tu ns -f 2 -wi 3 -w 1s -i 5 -r 1s -t 1
run $J final-buffer-sample-2 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' -p size=4096,65536 -bm sample -tu ns -f 2 -wi 3 -w 1s -i 5 -r 1s -t 1
run $J final-netty-t2-forks 'NettyAllocatorBench\.allocateRelease$' -p size=64 -f 4 -wi 3 -w 1s -i 3 -r 1s -t 2
echo ALLDONE >> $OUT/commands.txt
